"""autograph_rec.quantize"""
