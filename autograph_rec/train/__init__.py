"""autograph_rec.train"""
