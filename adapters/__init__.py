"""Channel adapters: each translates its platform's payloads into neutral Events and renders Replies."""
