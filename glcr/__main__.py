from glcr.cli.lazy import main

main()
