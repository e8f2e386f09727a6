"""The Microsoft Teams channel: botbuilder's CloudAdapter behind our own checked route, Adaptive Cards, a sender."""
