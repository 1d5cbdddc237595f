"""a3agent.model"""
