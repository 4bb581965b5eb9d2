from mediagate.cli import main

main()
