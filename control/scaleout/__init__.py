"""Scale-out over Redis Streams: a feed process publishes normalized book records per symbol, appliance
processes consume them through a consumer group (partitioned by symbol, since feature state is per
stream), and predictions are published back with idempotent ids. See control/README.md."""
