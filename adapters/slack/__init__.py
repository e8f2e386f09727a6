"""The Slack channel: bolt listeners behind our own aiohttp route, Block Kit rendering and a thread sender."""
