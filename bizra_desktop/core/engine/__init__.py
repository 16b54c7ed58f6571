"""The inference host: llama.cpp in a child process, and the protocol to talk to it."""
