package main

import "context"

// clientCommands are the command-line client's sub-commands.
var clientCommands = map[string]func(context.Context, []string) error{}
