-- One database per owner: the monolith, the control plane's store, the sync bookkeeping, each service.
CREATE DATABASE legacyshop;
CREATE DATABASE strangler;
CREATE DATABASE sync;
CREATE DATABASE catalog;
CREATE DATABASE orders;
