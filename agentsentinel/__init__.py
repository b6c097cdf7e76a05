"""AgentSentinel: discover, assess and watch AI agents; one explainable Trust Score per agent."""

__version__ = "0.1.0"
