from milsetctl.cli import main

main()
