"""a3agent.grammars"""
