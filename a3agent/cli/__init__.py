"""a3agent.cli"""
