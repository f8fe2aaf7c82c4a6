from autograder.author.notebooks import main

main()
