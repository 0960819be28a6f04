"""autograph_rec.encode"""
