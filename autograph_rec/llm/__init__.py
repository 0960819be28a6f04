"""autograph_rec.llm"""
