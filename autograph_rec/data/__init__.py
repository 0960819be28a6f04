"""autograph_rec.data"""
