"""a3agent.agent"""
