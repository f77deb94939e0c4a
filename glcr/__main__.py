from glcr.cli.main import main

main()
