"""The data layer: manifests, downloads, folder scans, synthetic stand-ins, datasets and splits."""
