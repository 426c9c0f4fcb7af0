from .cli import main

if __name__ == "__main__":  # importing the package's modules (API docs, tools) must not run the CLI
    main()
