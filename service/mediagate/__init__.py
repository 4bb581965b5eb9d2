"""mediagate: a gRPC media gateway to X's chunked upload protocol."""
