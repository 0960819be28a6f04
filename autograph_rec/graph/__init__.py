"""autograph_rec.graph"""
