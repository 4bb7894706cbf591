"""The Coop's vocabulary (domain/activity.py): every value of its enums with its label, in its
order; durations; parsing with the list of valid values; the form's rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediateur_tui.domain.activity import (
    ADMINISTRATIVE_THEMATIQUES,
    DURATION_PRESETS,
    NON_ADMINISTRATIVE_THEMATIQUES,
    Activity,
    Autonomie,
    Commune,
    Genre,
    Materiel,
    NiveauAtelier,
    StatutSocial,
    StructureDeRedirection,
    Thematique,
    TrancheAge,
    TypeActivite,
    TypeLieu,
    default_activity,
    duration_label,
    field_problems,
    parse_commune,
    parse_counts,
    parse_value,
    parse_values,
    problems,
    tags_of,
    validate,
)
from mediateur_tui.domain.errors import UserError

DAY = date(2026, 11, 28)

# The Coop's enums as its schema and label files give them: (database value, label), in order.
REFERENCE = {
    TypeActivite: [
        ("individuel", "Accompagnement individuel"),
        ("collectif", "Atelier collectif"),
    ],
    TypeLieu: [
        ("lieu_activite", "Lieu d’activité"),
        ("domicile", "À domicile"),
        ("a_distance", "À distance"),
        ("autre", "Autre lieu"),
    ],
    Materiel: [
        ("ordinateur", "Ordinateur"),
        ("telephone", "Téléphone"),
        ("tablette", "Tablette"),
        ("autre", "Autre"),
        ("aucun", "Pas de matériel"),
    ],
    Thematique: [
        ("diagnostic_numerique", "Diagnostic numérique"),
        ("prendre_en_main_du_materiel", "Prendre en main du matériel"),
        ("maintenance_de_materiel", "Maintenance de matériel"),
        ("gere_ses_contenus_numeriques", "Gérer ses contenus numériques"),
        ("navigation_sur_internet", "Navigation sur internet"),
        ("email", "E-mail"),
        ("bureautique", "Bureautique"),
        ("reseaux_sociaux", "Réseaux sociaux communication"),
        ("sante", "Santé"),
        ("banque_et_achats_en_ligne", "Banque et achats en ligne"),
        ("entrepreneuriat", "Accompagner un professionnel"),
        ("insertion_professionnelle", "Insertion professionnelle"),
        ("securite_numerique", "Prévention en sécurité numérique"),
        ("parentalite", "Parentalité"),
        ("scolarite_et_numerique", "Scolarité et numérique"),
        ("creer_avec_le_numerique", "Créer avec le numérique"),
        ("culture_numerique", "Culture numérique"),
        ("intelligence_artificielle", "Intelligence artificielle (IA)"),
        ("aide_aux_demarches_administratives", "Aide aux démarches administratives"),
        ("papiers_elections_citoyennete", "Papiers - Élections - Citoyenneté"),
        ("famille_scolarite", "Famille - Scolarité"),
        ("social_sante", "Social - Santé"),
        ("travail_formation", "Travail - Formation - Entreprise"),
        ("logement", "Logement"),
        ("transports_mobilite", "Transports - Mobilité"),
        ("argent_impots", "Argent - Impôts"),
        ("justice", "Justice"),
        ("etrangers_europe", "Étrangers - Europe"),
        ("loisirs_sports_culture", "Loisirs - Sports - Culture"),
        ("associations", "Associations"),
    ],
    Autonomie: [
        ("entierement_accompagne", "Avec guidage"),
        ("partiellement_autonome", "Autonome avec guidage en cas de besoin"),
        ("autonome", "Autonome"),
    ],
    NiveauAtelier: [
        ("debutant", "Débutant"),
        ("intermediaire", "Intermédiaire"),
        ("avance", "Avancé"),
    ],
    StructureDeRedirection: [
        ("administration", "Administration (mairie, préfecture…)"),
        ("mediation_numerique", "Autre structure de médiation numérique"),
        (
            "operateur_ou_organisme_en_charge",
            "Opérateur ou organisme en charge de la démarche administrative",
        ),
        ("aide_sociale", "Structure d’aide sociale (maison des solidarités, centre social…)"),
        (
            "insertion_professionnelle",
            "Structure d’insertion professionnelle (France Travail, mission locale, chambre de "
            "commerce…)",
        ),
        (
            "aide_aux_demarches_administratives",
            "Structure d’aide aux démarches administratives (France Services…)",
        ),
        ("autre", "Autre"),
    ],
    Genre: [("masculin", "Masculin"), ("feminin", "Féminin"), ("non_communique", "Non communiqué")],
    TrancheAge: [
        ("moins_de_douze", "Moins de 12 ans"),
        ("douze_dix_huit", "12 - 17 ans"),
        ("dix_huit_vingt_quatre", "18 - 24 ans"),
        ("vingt_cinq_trente_neuf", "25 - 39 ans"),
        ("quarante_cinquante_neuf", "40 - 59 ans"),
        ("soixante_soixante_neuf", "60 - 69 ans"),
        ("soixante_dix_plus", "70 ans et plus"),
        ("non_communique", "Non communiqué"),
    ],
    StatutSocial: [
        ("scolarise", "Scolarisé"),
        ("sans_emploi", "Sans emploi"),
        ("en_emploi", "En emploi"),
        ("retraite", "Retraité"),
        ("non_communique", "Non communiqué ou hétérogène"),
    ],
}
ALL_VALUES = [(enum, value, label) for enum, pairs in REFERENCE.items() for value, label in pairs]


@pytest.mark.parametrize(("enum", "value", "label"), ALL_VALUES)
def test_every_value_of_the_coop_is_accepted_and_labelled(enum, value, label):
    member = parse_value(enum, f" {value} ")
    assert member.value == value
    assert member.label == label


@pytest.mark.parametrize("enum", list(REFERENCE))
def test_each_enum_has_the_coops_values_in_its_order(enum):
    assert [(member.value, member.label) for member in enum] == REFERENCE[enum]


def test_type_plural_labels():
    assert TypeActivite.INDIVIDUEL.plural_label == "Accompagnements individuels"
    assert TypeActivite.COLLECTIF.plural_label == "Participants aux ateliers"


def test_the_thematiques_split_into_19_and_11_administrative():
    assert len(NON_ADMINISTRATIVE_THEMATIQUES) == 19
    assert NON_ADMINISTRATIVE_THEMATIQUES[-1] is Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES
    assert [theme.value for theme in ADMINISTRATIVE_THEMATIQUES] == [
        value for value, _ in REFERENCE[Thematique][19:]
    ]
    assert all(theme.administrative for theme in ADMINISTRATIVE_THEMATIQUES)
    assert not any(theme.administrative for theme in NON_ADMINISTRATIVE_THEMATIQUES)


def test_stars_of_autonomy_and_level():
    assert [member.stars for member in Autonomie] == [1, 2, 3]
    assert [member.stars for member in NiveauAtelier] == [1, 2, 3]


@pytest.mark.parametrize(
    ("minutes", "label"),
    [(15, "15mn"), (30, "30mn"), (45, "45mn"), (60, "1h"), (90, "1h30"), (120, "2h"), (75, "1h15")],
)
def test_duration_labels(minutes, label):
    assert duration_label(minutes) == label


def test_duration_presets():
    assert DURATION_PRESETS == (15, 30, 45, 60, 90, 120)


def test_a_wrong_value_lists_the_valid_ones_in_french():
    with pytest.raises(UserError) as caught:
        parse_value(TypeLieu, "mairie")
    assert str(caught.value) == (
        "Valeur inconnue pour type de lieu : « mairie ». "
        "Valeurs possibles : lieu_activite, domicile, a_distance, autre."
    )


@given(st.lists(st.sampled_from(list(Thematique)), min_size=1))
def test_parse_values_reads_each_value_once_in_order(themes):
    text = " , ".join(theme.value for theme in themes) + ","
    assert parse_values(Thematique, text) == tuple(dict.fromkeys(themes))


@given(st.dictionaries(st.sampled_from(list(Genre)), st.integers(0, 500)))
def test_parse_counts_reads_back_what_is_written(counts):
    text = ",".join(f"{member.value}={count}" for member, count in counts.items())
    assert parse_counts(Genre, text) == counts


@pytest.mark.parametrize("text", ["feminin", "feminin=", "feminin=-1", "feminin=trois"])
def test_an_unreadable_count_is_refused(text):
    with pytest.raises(UserError, match="Décompte illisible"):
        parse_counts(Genre, text)


def test_communes():
    assert parse_commune("59440:59036:Avesnes-sur-Helpe") == Commune(
        "59440", "59036", "Avesnes-sur-Helpe"
    )
    assert parse_commune("20000:2a004") == Commune("20000", "2A004")
    for wrong in ("59440", "5944:59036", "59440:5903X"):
        with pytest.raises(UserError):
            parse_commune(wrong)


def test_tags_from_free_text():
    assert tags_of(" démarches en ligne, courriel ;courriel,, ") == (
        "démarches en ligne",
        "courriel",
    )


# --- the form's rules -----------------------------------------------------------------------


def individuel(**changes) -> Activity:
    return replace(default_activity(TypeActivite.INDIVIDUEL, DAY, 60), **changes)


def collectif(**changes) -> Activity:
    return replace(default_activity(TypeActivite.COLLECTIF, DAY, 90), **changes)


def test_the_defaults_make_a_valid_session():
    assert problems(individuel()) == []
    assert problems(collectif()) == []
    assert validate(collectif()) == collectif()


def test_at_least_one_thematique():
    assert problems(individuel(thematiques=())) == ["Choisissez au moins une thématique."]


def test_a_value_chosen_twice_is_refused():
    twice = individuel(thematiques=(Thematique.EMAIL, Thematique.EMAIL))
    assert problems(twice) == ["« thématique » : une même valeur est choisie deux fois."]


def test_administrative_thematiques_need_aide_aux_demarches():
    wrong = individuel(thematiques=(Thematique.EMAIL, Thematique.LOGEMENT))
    assert problems(wrong) == [
        "Les thématiques administratives (« Logement ») demandent aussi la thématique "
        "« Aide aux démarches administratives »."
    ]
    right = individuel(
        thematiques=(Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES, Thematique.LOGEMENT),
        precisions_demarche="APL",
    )
    assert problems(right) == []


def test_precisions_demarche_only_with_aide_aux_demarches():
    assert problems(individuel(precisions_demarche="CAF")) == [
        "Le nom de la démarche administrative demande la thématique "
        "« Aide aux démarches administratives »."
    ]


def test_an_atelier_has_at_least_one_participant():
    assert problems(collectif(participants=0)) == [
        "Un atelier collectif compte au moins un participant."
    ]
    assert problems(collectif(participants=None)) != []


def test_counts_cannot_exceed_the_participants():
    assert problems(collectif(participants=4, genres={Genre.FEMININ: 3, Genre.MASCULIN: 1})) == []
    assert problems(collectif(participants=4, statuts={StatutSocial.RETRAITE: 5})) == [
        "Les décomptes par statut social (5) dépassent le nombre de participants (4)."
    ]
    assert problems(individuel(genres={Genre.FEMININ: 2})) == [
        "Les décomptes par genre (2) dépassent le nombre de participants (1)."
    ]


def test_each_type_keeps_to_its_own_fields():
    assert problems(individuel(niveau=NiveauAtelier.AVANCE)) != []
    assert problems(individuel(participants=3)) != []
    assert problems(collectif(autonomie=Autonomie.AUTONOME)) != []
    assert problems(collectif(redirection=StructureDeRedirection.AUTRE)) != []
    assert problems(individuel(redirection=StructureDeRedirection.AUTRE)) != []  # not oriented
    assert problems(individuel(oriented=True, redirection=StructureDeRedirection.AUTRE)) == []


def test_home_and_other_places_need_a_commune():
    assert problems(individuel(place_type=TypeLieu.DOMICILE)) == [
        "Indiquez la commune du lieu (« À domicile »)."
    ]
    commune = Commune("59440", "59036")
    assert problems(individuel(place_type=TypeLieu.AUTRE, place_commune=commune)) == []
    assert problems(individuel(place_type=TypeLieu.A_DISTANCE)) == []


def test_duration_bounds():
    assert problems(individuel(duration_minutes=0)) != []
    assert problems(individuel(duration_minutes=23 * 60 + 59)) == []
    assert problems(individuel(duration_minutes=24 * 60)) != []


def test_changing_type_clears_the_other_types_fields():
    atelier = collectif(title="Atelier", niveau=NiveauAtelier.DEBUTANT, participants=6)
    alone = atelier.with_type(TypeActivite.INDIVIDUEL)
    assert (alone.title, alone.niveau, alone.participants) == (None, None, None)
    assert problems(alone) == []
    again = individuel(autonomie=Autonomie.AUTONOME, oriented=False).with_type(
        TypeActivite.COLLECTIF
    )
    assert (again.autonomie, again.oriented, again.participants) == (None, None, 1)
    assert problems(again) == []


def test_defaults_keep_the_kind_of_work_not_the_beneficiaries():
    previous = individuel(
        thematiques=(Thematique.EMAIL,),
        equipment=(Materiel.TABLETTE,),
        autonomie=Autonomie.AUTONOME,
        genres={Genre.FEMININ: 1},
        beneficiary_commune=Commune("59440", "59036"),
        tags=("seniors",),
    )
    nxt = previous.as_defaults(date(2026, 11, 30))
    assert nxt.date == date(2026, 11, 30)
    assert (nxt.thematiques, nxt.equipment, nxt.tags) == (
        (Thematique.EMAIL,),
        (Materiel.TABLETTE,),
        ("seniors",),
    )
    assert (nxt.autonomie, dict(nxt.genres), nxt.beneficiary_commune) == (None, {}, None)


@pytest.mark.parametrize(
    ("activity", "fields"),
    [
        (individuel(duration_minutes=0, thematiques=()), ["duration_minutes", "thematiques"]),
        (individuel(thematiques=(Thematique.LOGEMENT,)), ["thematiques"]),
        (individuel(precisions_demarche="CAF"), ["precisions_demarche"]),
        (individuel(place_type=TypeLieu.DOMICILE), ["place_commune"]),
        (individuel(equipment=(Materiel.TABLETTE, Materiel.TABLETTE)), ["equipment"]),
        (individuel(redirection=StructureDeRedirection.AUTRE), ["redirection"]),
        (collectif(participants=None), ["participants"]),
        (collectif(participants=2, tranches_age={TrancheAge.DOUZE_DIX_HUIT: 3}), ["tranches_age"]),
    ],
)
def test_each_problem_names_the_field_a_form_puts_the_focus_on(activity, fields):
    found = field_problems(activity)
    assert [field for field, _ in found] == fields
    assert [message for _, message in found] == problems(activity)
    assert all(hasattr(activity, field) for field, _ in found)
