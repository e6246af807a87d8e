// The umbrella module: `import Multicore` brings in every layer.
@_exported import MulticoreThreading
@_exported import MulticoreProcessing
@_exported import MulticorePool
