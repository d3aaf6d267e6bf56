"""dues"""
