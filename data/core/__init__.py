"""The store: settings, the engine and schema creation, the typed models and the rollups their triggers keep
fresh, the controlled vocabulary, time (UTC storage, local bucketing), periods, bulk insert, the cache, the
units and the unit scope of every query (``scope``). The lowest layer: it imports nothing else of the project."""
