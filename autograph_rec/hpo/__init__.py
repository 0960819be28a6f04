"""autograph_rec.hpo"""
