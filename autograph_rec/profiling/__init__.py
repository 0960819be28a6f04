"""autograph_rec.profiling"""
