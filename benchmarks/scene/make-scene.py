#!/usr/bin/python3
"""Writes a synthetic multi-band scene for the scene-mapping benchmark (docs/scene-mapping.md):
uint16, tiled 256x256, Deflate, EPSG:32633 10 m pixels, a no-data corner; fields of 500x500 px with
a per-field level per band plus a little noise, so it compresses like imagery rather than like zeros.
Usage: /usr/bin/python3 make-scene.py OUT.tif SIZE [BANDS]"""
import sys
import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()
out, size = sys.argv[1], int(sys.argv[2])
bands = int(sys.argv[3]) if len(sys.argv) > 3 else 4
ds = gdal.GetDriverByName('GTiff').Create(out, size, size, bands, gdal.GDT_UInt16,
    ['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'COMPRESS=DEFLATE', 'BIGTIFF=IF_SAFER', 'NUM_THREADS=2'])
ds.SetGeoTransform([300000.0, 10.0, 0.0, 5000040.0, 0.0, -10.0])
srs = osr.SpatialReference()
srs.ImportFromEPSG(32633)
ds.SetProjection(srs.ExportToWkt())
rng = np.random.default_rng(1)
levels = rng.integers(500, 4000, (bands, size // 500 + 1, size // 500 + 1))
step = 1024
for y in range(0, size, step):
    h = min(step, size - y)
    rows = (np.arange(y, y + h) // 500)[:, None]
    cols = (np.arange(size) // 500)[None, :]
    for b in range(bands):
        block = levels[b][rows, cols] + rng.integers(0, 8, (h, size))
        if y < 1000:
            block[:, :1000] = 0  # no-data corner
        ds.GetRasterBand(b + 1).WriteArray(block.astype(np.uint16), 0, y)
for b in range(bands):
    ds.GetRasterBand(b + 1).SetNoDataValue(0)
ds = None
