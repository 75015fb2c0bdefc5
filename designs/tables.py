"""variants.csv (PRODUCT.md): `variant,<factor 1>,…,<factor k>`, cells are level names."""
import csv


def variant_rows(design, runs):
    """(code, [level name per factor]) for each run of a design matrix; codes are v1..vN."""
    return [
        (f"v{i + 1}", [factor.levels[int(symbol)].name for factor, symbol in zip(design.factors, run)])
        for i, run in enumerate(runs)
    ]


def write_variants_csv(stream, factor_names, rows):
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["variant", *factor_names])
    for code, levels in rows:
        writer.writerow([code, *levels])
