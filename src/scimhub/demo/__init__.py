"""`scimhub demo`: the seed story, told by starting a local Entra ID emulator and the hub
side by side. Wiring only: it plays the Entra admin and the hub admin through the same
public interfaces (HTTP, CLI) a person would use."""
