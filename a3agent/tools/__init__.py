"""a3agent.tools"""
