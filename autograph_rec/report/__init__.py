"""autograph_rec.report"""
