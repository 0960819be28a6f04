"""autograph_rec.eval"""
