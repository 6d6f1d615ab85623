"""Categories that events carry instead of free text about a person (docs/domain.md#categories)."""

from enum import StrEnum


class SourceOrganisation(StrEnum):
    """Who brought the possible victim into view (melder)."""

    POLICE = "POLICE"
    KMAR = "KMAR"
    LABOUR_INSPECTORATE = "LABOUR_INSPECTORATE"
    OTHER = "OTHER"


class ExploitationForm(StrEnum):
    """Form of exploitation (uitbuitingsvorm)."""

    SEXUAL = "SEXUAL"
    LABOUR = "LABOUR"
    CRIMINAL = "CRIMINAL"
    ORGAN_REMOVAL = "ORGAN_REMOVAL"
    OTHER_UNKNOWN = "OTHER_UNKNOWN"


class NationalityGroup(StrEnum):
    DUTCH = "DUTCH"
    OTHER_EU = "OTHER_EU"
    THIRD_COUNTRY = "THIRD_COUNTRY"


class ResidencePosition(StrEnum):
    """Residence position at the time of the signal (verblijfspositie)."""

    LAWFUL = "LAWFUL"
    IRREGULAR = "IRREGULAR"
    ASYLUM_SEEKER = "ASYLUM_SEEKER"
    DUBLIN_CLAIMANT = "DUBLIN_CLAIMANT"


class ReportingCapacity(StrEnum):
    """In which capacity a person reports (aangifte) or cooperates: as the victim, or as a
    witness (getuige-aangever). A witness who reports has no reflection period (R1)."""

    VICTIM = "VICTIM"
    WITNESS = "WITNESS"


class CooperationImpossibleReason(StrEnum):
    """Why a victim cannot report or otherwise cooperate (Vc 2000 B8/3: ernstige bedreiging,
    medische of psychische beperking). A category only, never a description."""

    SERIOUS_THREAT = "SERIOUS_THREAT"
    MEDICAL = "MEDICAL"
    PSYCHOLOGICAL = "PSYCHOLOGICAL"


class PoliceRegion(StrEnum):
    """The ten regional units of the Dutch police and the national unit."""

    NOORD_NEDERLAND = "NOORD_NEDERLAND"
    OOST_NEDERLAND = "OOST_NEDERLAND"
    MIDDEN_NEDERLAND = "MIDDEN_NEDERLAND"
    NOORD_HOLLAND = "NOORD_HOLLAND"
    AMSTERDAM = "AMSTERDAM"
    DEN_HAAG = "DEN_HAAG"
    ROTTERDAM = "ROTTERDAM"
    ZEELAND_WEST_BRABANT = "ZEELAND_WEST_BRABANT"
    OOST_BRABANT = "OOST_BRABANT"
    LIMBURG = "LIMBURG"
    LANDELIJKE_EENHEID = "LANDELIJKE_EENHEID"


class ProtectionMeasure(StrEnum):
    """Categories of measures from the individual assessment (Individuele Beoordeling)."""

    SPECIALISED_INTERVIEWER = "SPECIALISED_INTERVIEWER"
    SAME_INTERVIEWER = "SAME_INTERVIEWER"
    AUDIO_VISUAL_RECORDING = "AUDIO_VISUAL_RECORDING"
    NO_CONFRONTATION_WITH_SUSPECT = "NO_CONFRONTATION_WITH_SUSPECT"
    SHIELDED_HEARING = "SHIELDED_HEARING"
    PRIVACY_MEASURES = "PRIVACY_MEASURES"
    SAFETY_MEASURES = "SAFETY_MEASURES"


class InvestigationCloseReason(StrEnum):
    NO_LEADS = "NO_LEADS"
    NO_JURISDICTION = "NO_JURISDICTION"
    SUBMITTED = "SUBMITTED"


class DismissalKind(StrEnum):
    """Sepot: technical (not provable, not punishable) or policy (opportuniteit)."""

    TECHNICAL = "TECHNICAL"
    POLICY = "POLICY"


class OtherDisposalKind(StrEnum):
    """Other OM disposals: transaction/penalty order, joinder (voeging), transfer (overdracht)."""

    TRANSACTION = "TRANSACTION"
    JOINDER = "JOINDER"
    TRANSFER = "TRANSFER"


class CourtInstance(StrEnum):
    FIRST_INSTANCE = "FIRST_INSTANCE"
    APPEAL = "APPEAL"


class VerdictOutcome(StrEnum):
    CONVICTION_TRAFFICKING = "CONVICTION_TRAFFICKING"
    CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED = "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED"
    ACQUITTAL = "ACQUITTAL"
    OTHER = "OTHER"


class ReflectionEndReason(StrEnum):
    REPORT = "REPORT"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    ENDED_EARLY = "ENDED_EARLY"


class NonTemporaryGround(StrEnum):
    """Grounds for the non-temporary permit (Vc B9/12)."""

    PROSECUTION = "PROSECUTION"
    CONVICTION = "CONVICTION"
    THREE_YEARS = "THREE_YEARS"


class PilotIntervention(StrEnum):
    """Interventions of the reporting-readiness pilot (pilot aangiftebereidheid)."""

    POLICE_PSYCHOLOGIST = "POLICE_PSYCHOLOGIST"
    SAFETY_COORDINATOR = "SAFETY_COORDINATOR"
    PEER_SUPPORT = "PEER_SUPPORT"


class CorrectionReason(StrEnum):
    """Why the organisation that stated a fact corrects it (docs/domain.md#corrections).

    The first four annul a fact (nietig: it never happened, or not as registered); the last two
    amend it (herstel: the same fact with a corrected date or category). A fact booked on the
    wrong case or person is annulled and registered again: a fact is never moved.
    """

    REGISTERED_IN_ERROR = "REGISTERED_IN_ERROR"
    DUPLICATE = "DUPLICATE"
    WRONG_CASE = "WRONG_CASE"
    WRONG_PERSON = "WRONG_PERSON"
    WRONG_DATE = "WRONG_DATE"
    WRONG_CATEGORY = "WRONG_CATEGORY"


ANNULMENT_REASONS = frozenset(
    {
        CorrectionReason.REGISTERED_IN_ERROR,
        CorrectionReason.DUPLICATE,
        CorrectionReason.WRONG_CASE,
        CorrectionReason.WRONG_PERSON,
    }
)
AMENDMENT_REASONS = frozenset({CorrectionReason.WRONG_DATE, CorrectionReason.WRONG_CATEGORY})
