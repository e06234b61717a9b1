from hangar_cli.main import main

main()
