"""Small Hebrew and English courses used by the study-tool tests (one passage per chunk)."""

from __future__ import annotations

from studybuddy.ai.base import SourceChunk

ENGLISH = [
    ("Photosynthesis is the process by which green plants turn light energy into chemical energy. "
    "It takes place in the chloroplasts of leaf cells. The overall reaction uses carbon dioxide and "
    "water and releases oxygen as a by-product."),
    ("Chlorophyll is a green pigment that absorbs red and blue light. Leaves look green because "
    "chlorophyll reflects green light. The light reactions happen in the thylakoid membranes and "
    "produce ATP and NADPH for the next stage."),
    ("The Calvin cycle is a series of reactions that fixes carbon dioxide into sugar. It runs in the "
    "stroma of the chloroplast. The enzyme that captures carbon dioxide in the first step is called "
    "RuBisCO, and it is probably the most abundant protein on Earth."),
    ("Stomata: small pores on the leaf surface that let carbon dioxide in and oxygen out. Guard cells "
    "open and close each pore. Plants close their stomata on hot, dry days to save water, which also "
    "slows down photosynthesis."),
    ("Cellular respiration is the process that releases the energy stored in glucose. Mitochondria are "
    "the organelles where most of cellular respiration happens. Respiration consumes oxygen and gives "
    "off carbon dioxide, the reverse of photosynthesis."),
    ("Transpiration – the loss of water vapour from the leaves of a plant. Transpiration pulls water "
    "up from the roots through the xylem vessels. On windy days transpiration is faster because moist "
    "air near the leaf is carried away."),
    ("The xylem is the tissue that carries water and minerals from the roots to the leaves. The phloem "
    "is the tissue that carries sugars from the leaves to the rest of the plant. Together they form "
    "the vascular system of the plant."),
    ("Limiting factors are conditions that keep the rate of photosynthesis from rising further. Light "
    "intensity, carbon dioxide concentration and temperature are the classic limiting factors. In a "
    "greenhouse, farmers raise the carbon dioxide level to grow crops faster."),
]

HEBREW = [
    ("פוטוסינתזה היא התהליך שבו צמחים ירוקים הופכים אנרגיית אור לאנרגיה כימית. התהליך מתרחש "
    "בכלורופלסטים של תאי העלה. בתהליך נצרכים פחמן דו־חמצני ומים ומשתחרר חמצן."),
    ("כלורופיל הוא פיגמנט ירוק שבולע אור אדום וכחול. העלים נראים ירוקים משום שהכלורופיל מחזיר אור "
    "ירוק. תגובות האור מתרחשות בממברנות התילקואידים ומייצרות ATP ו־NADPH לשלב הבא."),
    ("מעגל קלווין הוא סדרת תגובות שמקבעת פחמן דו־חמצני לסוכר. המעגל מתרחש בסטרומה של הכלורופלסט. "
    "האנזים שקולט את הפחמן הדו־חמצני בשלב הראשון נקרא רוביסקו, והוא כנראה החלבון הנפוץ ביותר בכדור הארץ."),
    ("פיוניות: נקבוביות זעירות על פני העלה שמכניסות פחמן דו־חמצני ומוציאות חמצן. תאי שמירה פותחים "
    "וסוגרים כל פיונית. צמחים סוגרים את הפיוניות בימים חמים ויבשים כדי לחסוך במים, וכך גם הפוטוסינתזה מואטת."),
    ("נשימה תאית היא התהליך שמשחרר את האנרגיה האגורה בגלוקוז. המיטוכונדריה הם האברונים שבהם מתרחשת "
    "רוב הנשימה התאית. הנשימה צורכת חמצן ופולטת פחמן דו־חמצני, בדיוק להפך מהפוטוסינתזה."),
    ("דיות – איבוד אדי מים מהעלים של הצמח. הדיות מושכת מים מהשורשים דרך צינורות העצה. ביום עם רוח "
    "הדיות מהירה יותר, כי האוויר הלח שליד העלה נישא הלאה."),
    ("העצה היא הרקמה שמובילה מים ומינרלים מהשורשים אל העלים. השיפה היא הרקמה שמובילה סוכרים מהעלים "
    "לשאר חלקי הצמח. יחד הן יוצרות את מערכת ההובלה של הצמח."),
    ("גורמים מגבילים הם תנאים שמונעים מקצב הפוטוסינתזה לעלות עוד. עוצמת האור, ריכוז הפחמן הדו־חמצני "
    "והטמפרטורה הם הגורמים המגבילים הקלאסיים. בחממה החקלאים מעלים את רמת הפחמן הדו־חמצני כדי לגדל "
    "יבולים מהר יותר."),
]


def sources(passages: list[str], name: str = "biology.pdf") -> list[SourceChunk]:
    return [
        SourceChunk(number=i + 1, chunk_id=f"chunk-{i}", document_id="doc-1", document_name=name, page=i + 1,
                    text=text)
        for i, text in enumerate(passages)
    ]
