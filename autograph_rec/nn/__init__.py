"""autograph_rec.nn"""
