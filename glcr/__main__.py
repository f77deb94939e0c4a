from glcr.cli.entry import main

main()
