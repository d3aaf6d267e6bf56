"""The comparison point for bench/webhook.py: a minimal WeRoBot app answering every text."""
import os

from werobot import WeRoBot

robot = WeRoBot(token=os.environ["WECHAT_TOKEN"],
                encoding_aes_key=os.environ.get("WECHAT_AES_KEY"),
                app_id=os.environ["WECHAT_APP_ID"])


@robot.text
def fixed(message):
    return "收到"


app = robot.wsgi
