import ArgumentParser
import Multicore

@main
struct MulticoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "multicore",
        abstract: "Runs the \"Concurrent execution\" notebook's experiments with Multicore.",
        subcommands: [Notebook.self, Cell1.self, Cell2.self, Cell3.self, Bench.self],
        defaultSubcommand: Notebook.self
    )
}

/// All of the notebook's cells, in order.
struct Notebook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook", abstract: "Run every cell of the notebook, in order (the default).")

    func run() throws {
        try NotebookCells.cell1()
        Console.line("")
        try NotebookCells.cell2()
        Console.line("")
        try NotebookCells.cell3()
    }
}

struct Cell1: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cell1", abstract: "Five threads sleep 3 s each, in parallel.")
    func run() throws { try NotebookCells.cell1() }
}

struct Cell2: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cell2", abstract: "Ten threads add 1,000,000 each to a total under one lock.")
    func run() throws { try NotebookCells.cell2() }
}

struct Cell3: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cell3", abstract: "Five processes double five numbers, then the same work serially.")
    func run() throws { try NotebookCells.cell3() }
}
