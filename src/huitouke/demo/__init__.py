"""Realistic demo data: a beauty salon chain with two years of customers, orders and contacts."""
