"""floating"""
