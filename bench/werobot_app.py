"""The comparison point for bench/webhook.py: a minimal WeRoBot app answering every text."""
import os

from werobot import WeRoBot
from werobot.session.sqlitestorage import SQLiteStorage

# WeRoBot's default session store, in the benchmark's instance folder (not the working tree).
robot = WeRoBot(token=os.environ["WECHAT_TOKEN"],
                encoding_aes_key=os.environ.get("WECHAT_AES_KEY"),
                app_id=os.environ["WECHAT_APP_ID"],
                session_storage=SQLiteStorage(os.path.join(
                    os.environ.get("ZHIBU_INSTANCE", "instance"), "werobot_session.sqlite3")))


@robot.text
def fixed(message):
    return "收到"


app = robot.wsgi
