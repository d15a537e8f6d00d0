"""The delivery stage: take due deliveries, render, publish, record the outcome."""
