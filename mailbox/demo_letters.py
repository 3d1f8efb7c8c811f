"""Demo letters for the embedded default. Filled in once the MeMo writer is in place."""


def seed_letters(**parties) -> None:
    return None
