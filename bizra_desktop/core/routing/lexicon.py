"""What a prompt asks for, in the languages people write in: a small multilingual concept table.

The rater's learned weights decide how much each concept matters; this table only says which
words express it, so that "prove", "demuestra", "докажите" and "証明" give the model the same
feature and the same prompt gets the same rating in every language. Each entry is a general
task word of its language, never a phrase taken from a labelled prompt.

Spelling of the entries: lowercase; a trailing `*` matches any word that starts with the stem
(at least 3 letters before it); an entry with a space is a phrase of words; entries in scripts
written without spaces (Chinese, Japanese, Thai) match anywhere in a run of that script.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "uk": "Ukrainian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "hi": "Hindi",
    "bn": "Bengali",
    "te": "Telugu",
    "th": "Thai",
    "sw": "Swahili",
    "vi": "Vietnamese",
    "tr": "Turkish",
}


@dataclass(frozen=True)
class Concept:
    name: str
    reason: str  # how the rater's reasons name it, e.g. "asks for a proof"
    terms: dict[str, str]  # language code → "term | term | ..."


CONCEPTS: tuple[Concept, ...] = (
    Concept(
        "greeting",
        "greeting or small talk",
        {
            "en": "hello | hi | hey | hiya | howdy | greetings | good morning | good evening"
            " | good night | thanks | thank you | thx | bye | goodbye | cheers | how are you"
            " | how's it going | how is it going | what's up | whats up",
            "es": "hola | gracias | adiós | buenos días | buenas noches | buenas tardes | qué tal"
            " | cómo estás | cómo está usted | cómo están ustedes",
            "fr": "bonjour | bonsoir | salut | merci | au revoir | ça va | comment ça va"
            " | comment vas-tu | comment allez-vous",
            "de": "hallo | danke | tschüss | guten morgen | guten tag | guten abend | wie geht's"
            " | wie gehts | wie geht es dir | wie geht es ihnen | wie geht es euch",
            "it": "ciao | grazie | buongiorno | buonasera | arrivederci | come stai | come state"
            " | come sta lei",
            "pt": "olá | obrigado | obrigada | bom dia | boa noite | tudo bem | como vai você"
            " | como está você | como estás",
            "ru": "привет | здравствуйте | спасибо | пока | до свидания | как дела"
            " | как поживаешь | как поживаете",
            "uk": "привіт | дякую | добрий день | як справи",
            "zh": "你好 | 您好 | 谢谢 | 再见 | 早上好 | 晚上好 | 最近好吗 | 最近怎么样",
            "ja": "こんにちは | こんばんは | おはよう | ありがとう | さようなら | 元気ですか",
            "ko": "안녕하세요 | 안녕 | 감사합니다 | 고마워 | 잘 지내 | 잘 지내요 | 잘 지내세요"
            " | 어떻게 지내요 | 어떻게 지내세요",
            "ar": "مرحبا | شكرا | السلام | أهلا | كيف حالك | كيف الحال",
            "hi": "नमस्ते | धन्यवाद | शुक्रिया | कैसे हो | आप कैसे हैं | क्या हाल",
            "bn": "নমস্কার | ধন্যবাদ | হ্যালো | কেমন আছ | কেমন আছেন | কেমন আছো",
            "te": "నమస్కారం | ధన్యవాదాలు | ఎలా ఉన్నారు | ఎలా ఉన్నావు",
            "th": "สวัสดี | ขอบคุณ | สบายดีไหม",
            "sw": "habari | jambo | asante | hujambo | hali gani",
            "vi": "xin chào | cảm ơn | chào bạn | khỏe không",
            "tr": "merhaba | teşekkürler | teşekkür | selam | günaydın | nasılsın | nasılsınız",
        },
    ),
    Concept(
        "proof",
        "asks for a proof",
        {
            "en": "prove | proves | proving | proof | proofs | show that | demonstrate that",
            "es": "demuestra | demuestre | demostrar | demostración | prueba que",
            "fr": "démontrer | démontrez | démontre | démonstration | prouver | prouvez",
            "de": "beweise | beweisen | beweis | zeige dass | zeigen sie dass",
            "it": "dimostra | dimostrare | dimostrazione",
            "pt": "prove | demonstre | demonstrar | demonstração",
            "ru": "докажите | докажи | доказать | доказательство",
            "uk": "доведіть | доведи | довести | доведення",
            "zh": "证明",
            "ja": "証明",
            "ko": "증명",
            "ar": "أثبت | برهن | برهان",
            "hi": "सिद्ध | प्रमाणित",
            "bn": "প্রমাণ",
            "te": "నిరూపించ* | నిరూపణ",
            "th": "พิสูจน์",
            "sw": "thibitisha | uthibitisho",
            "vi": "chứng minh",
            "tr": "kanıtla | kanıtlayın | ispatla | ispat",
        },
    ),
    Concept(
        "design",
        "asks for a design",
        {
            "en": "design | designing | architect | architecture | architectures | blueprint",
            "es": "diseña | diseñe | diseñar | diseño | arquitectura",
            "fr": "concevoir | concevez | conçois | conception | architecture",
            "de": "entwirf | entwerfen | entwerfe | entwurf | architektur",
            "it": "progetta | progettare | architettura",
            "pt": "projete | projetar | arquitetura",
            "ru": "спроектируй* | спроектировать | проектирование | архитектур*",
            "uk": "спроєктуй* | архітектур*",
            "zh": "设计 | 架构",
            "ja": "設計 | アーキテクチャ",
            "ko": "설계 | 아키텍처",
            "ar": "صمم | تصميم | هندسة",
            "hi": "डिज़ाइन | डिजाइन | वास्तुकला",
            "bn": "নকশা | ডিজাইন",
            "te": "రూపకల్పన | డిజైన్",
            "th": "ออกแบบ | สถาปัตยกรรม",
            "sw": "buni | usanifu",
            "vi": "thiết kế | kiến trúc",
            "tr": "tasarla | tasarlayın | tasarım | mimari",
        },
    ),
    Concept(
        "scale",
        "large-scale requirements",
        {
            "en": "million | millions | billion | billions | scalable | scalability"
            " | distributed | fault-tolerant | high availability | latency | throughput"
            " | concurrent | concurrency",
            "es": "millones | escalable | distribuido | latencia | concurrencia",
            "fr": "millions | milliards | évolutif | distribué | latence | concurrence",
            "de": "millionen | milliarden | skalierbar | verteilt | latenz | nebenläufig*",
            "it": "milioni | scalabile | distribuito | latenza",
            "pt": "milhões | escalável | distribuído | latência",
            "ru": "миллион* | миллиард* | масштабир* | распределённ* | распределенн* | задержк*",
            "zh": "百万 | 亿 | 分布式 | 高并发 | 并发 | 延迟 | 可扩展",
            "ja": "百万 | 億 | 分散 | 並行 | 並列 | レイテンシ | スケーラブル",
            "ko": "백만 | 분산 | 동시성 | 지연",
            "ar": "مليون | ملايين | موزع",
            "hi": "लाख | करोड़ | मिलियन",
            "th": "ล้าน | กระจาย",
            "sw": "milioni",
            "vi": "triệu | phân tán",
            "tr": "milyon | dağıtık | ölçeklenebilir",
        },
    ),
    Concept(
        "code",
        "asks for code",
        {
            "en": "code | program | programs | function | functions | script | implement"
            " | implementation | algorithm | algorithms | class | method | compile | compiler"
            " | bug | debug | refactor | api | regex | sql | python | javascript | java"
            " | rust | golang | c++ | typescript",
            "es": "código | programa | función | implementa | implementar | algoritmo",
            "fr": "programme | fonction | implémente | implémenter | algorithme",
            "de": "programm | funktion | implementiere | implementieren | algorithmus",
            "it": "codice | programma | funzione | implementa | algoritmo",
            "pt": "código | programa | função | implemente | algoritmo",
            "ru": "код | программ* | функци* | реализуй* | алгоритм*",
            "uk": "код | програм* | функці*",
            "zh": "代码 | 程序 | 函数 | 实现 | 算法 | 编程",
            "ja": "コード | プログラム | 関数 | 実装 | アルゴリズム",
            "ko": "코드 | 프로그램 | 함수 | 구현 | 알고리즘",
            "ar": "كود | برنامج | دالة | خوارزمية",
            "hi": "कोड | प्रोग्राम | फ़ंक्शन | एल्गोरिदम",
            "bn": "কোড | প্রোগ্রাম | ফাংশন",
            "te": "కోడ్ | ప్రోగ్రామ్",
            "th": "โค้ด | โปรแกรม | ฟังก์ชัน | อัลกอริทึม",
            "sw": "msimbo | programu",
            "vi": "mã nguồn | chương trình | hàm | thuật toán",
            "tr": "kod | program | fonksiyon | algoritma",
        },
    ),
    Concept(
        "explain",
        "asks for an explanation",
        {
            "en": "explain | explains | explaining | explanation | describe | describes"
            " | elaborate | why | how does | how do | how can | walk me through",
            "es": "explica | explique | explícame | explicar | describe | describa | describir"
            " | por qué | cómo",
            "fr": "explique | expliquez | expliquer | décris | décrivez | pourquoi | comment",
            "de": "erklär* | beschreib* | warum | wieso | weshalb | wie funktioniert | wie kann"
            " | wie können",
            "it": "spiega | spiegare | descrivi | perché | come funziona",
            "pt": "explique | explicar | descreva | por que | porque | como funciona",
            "ru": "объясни* | опиши* | расскажи* | почему | как работает | как именно",
            "uk": "поясни* | опиши* | чому",
            "zh": "解释 | 说明 | 描述 | 为什么 | 如何 | 怎么",
            "ja": "説明 | 解説 | なぜ | どうして | 仕組み | 教えて",
            "ko": "설명 | 왜 | 어떻게",
            "ar": "اشرح | وضح | لماذا | كيف",
            "hi": "समझाइए | समझाओ | बताइए | क्यों | कैसे",
            "bn": "ব্যাখ্যা | কেন | কীভাবে",
            "te": "వివరించ* | ఎందుకు | ఎలా",
            "th": "อธิบาย | ทำไม | อย่างไร",
            "sw": "eleza | elezea | kwa nini | vipi | fafanua",
            "vi": "giải thích | mô tả | tại sao | như thế nào",
            "tr": "açıkla | açıklayın | neden | nasıl",
        },
    ),
    Concept(
        "analyze",
        "asks for an analysis or comparison",
        {
            "en": "analyze | analyse | analysis | analyzing | compare | comparison | contrast"
            " | evaluate | evaluation | assess | critique | trade-offs | tradeoffs"
            " | pros and cons | implications | discuss",
            "es": "analiza | analice | analizar | análisis | compara | compare | evalúa | evalúe",
            "fr": "analyse | analysez | analyser | compare | comparez | évalue | évaluez",
            "de": "analysiere | analysieren | analyse | vergleiche | vergleichen | bewerte",
            "it": "analizza | analizzare | confronta | valuta",
            "pt": "analise | analisar | análise | compare | avalie",
            "ru": "проанализируй* | анализ* | сравни* | оцени*",
            "uk": "проаналізуй* | аналіз* | порівняй*",
            "zh": "分析 | 比较 | 评估 | 对比 | 利弊",
            "ja": "分析 | 比較 | 評価 | 考察",
            "ko": "분석 | 비교 | 평가",
            "ar": "حلل | تحليل | قارن | مقارنة | قيم",
            "hi": "विश्लेषण | तुलना | मूल्यांकन",
            "bn": "বিশ্লেষণ | তুলনা | মূল্যায়ন",
            "te": "విశ్లేషించ* | విశ్లేషణ | పోల్చ*",
            "th": "วิเคราะห์ | เปรียบเทียบ | ประเมิน",
            "sw": "chambua | uchambuzi | linganisha | tathmini",
            "vi": "phân tích | so sánh | đánh giá",
            "tr": "analiz | karşılaştır* | değerlendir*",
        },
    ),
    Concept(
        "write",
        "asks for a piece of writing",
        {
            "en": "write | compose | draft | story | poem | essay | letter | email | song"
            " | blog | article | speech | script | haiku | limerick",
            "es": "escribe | escriba | redacta | historia | cuento | poema | ensayo | carta"
            " | correo | artículo",
            "fr": "écris | écrivez | rédige | rédigez | histoire | poème | essai | lettre"
            " | article",
            "de": "schreibe | schreiben | verfasse | geschichte | gedicht | aufsatz | brief"
            " | artikel | schreib* | verfass*",
            "it": "scrivi | scrivere | storia | poesia | saggio | lettera",
            "pt": "escreva | escrever | redija | história | poema | ensaio | carta",
            "ru": "напиш* | сочин* | составь* | составьте | рассказ* | стихотворени* | эссе"
            " | письмо | статью",
            "uk": "напиши* | оповідання | вірш | лист",
            "zh": "写 | 撰写 | 故事 | 诗 | 文章 | 作文 | 信 | 邮件",
            "ja": "書いて | 書く | 作成 | 物語 | 詩 | 作文 | 手紙 | メール | 記事",
            "ko": "써 | 작성 | 이야기 | 시를 | 에세이 | 편지 | 이메일",
            "ar": "اكتب | قصة | قصيدة | مقال | رسالة",
            "hi": "लिखिए | लिखो | लिखें | कहानी | कविता | निबंध | पत्र",
            "bn": "লিখ* | গল্প | কবিতা | রচনা | চিঠি | লেখ*",
            "te": "రాయ* | కథ | కవిత | వ్యాసం | లేఖ",
            "th": "เขียน | เรื่องสั้น | กลอน | บทความ | จดหมาย",
            "sw": "andika | hadithi | shairi | insha | barua | tunga | andikia",
            "vi": "viết | câu chuyện | bài thơ | bài luận | lá thư",
            "tr": "yaz | yazın | hikaye | şiir | makale | mektup",
        },
    ),
    Concept(
        "transform",
        "asks to summarize, rewrite, translate or classify given text",
        {
            "en": "summarize | summarise | summary | rewrite | rephrase | paraphrase | translate"
            " | proofread | correct | classify | categorize | extract | convert",
            "es": "resume | resuma | reescribe | traduce | traduzca | clasifica | corrige",
            "fr": "résume | résumez | réécris | reformule | traduis | traduisez | classe | corrige",
            "de": "zusammenfassen | fasse | umschreiben | übersetze | übersetzen | klassifiziere"
            " | korrigiere",
            "it": "riassumi | riscrivi | traduci | classifica | correggi",
            "pt": "resuma | reescreva | traduza | classifique | corrija",
            "ru": "перескажи* | перепиши* | переведи* | классифицируй* | исправь*",
            "uk": "перекажи* | перепиши* | переклади*",
            "zh": "总结 | 概括 | 摘要 | 改写 | 翻译 | 分类 | 提取",
            "ja": "要約 | 書き直 | 言い換え | 翻訳 | 分類 | 抽出",
            "ko": "요약 | 번역 | 분류 | 고쳐",
            "ar": "لخص | ترجم | صنف",
            "hi": "सारांश | अनुवाद | वर्गीकृत",
            "bn": "সারাংশ | অনুবাদ",
            "te": "సారాంశం | అనువదించ*",
            "th": "สรุป | แปล | จัดประเภท",
            "sw": "fupisha | tafsiri | muhtasari",
            "vi": "tóm tắt | dịch | phân loại",
            "tr": "özetle | çevir | sınıflandır",
        },
    ),
    Concept(
        "lookup",
        "asks for a fact or definition",
        {
            "en": "what is | what are | what's | who is | who was | when did | when was"
            " | where is | define | definition | meaning of | capital of",
            "es": "qué es | qué son | cuál es | cuáles son | quién es | quién fue | cuándo | dónde"
            " | define | significa",
            "fr": "qu'est-ce | quel est | quelle est | quels sont | quelles sont | qui est"
            " | qui était | quand | où est | définis | signifie",
            "de": "was ist | was sind | wer ist | wer war | wann | wo ist | definiere | bedeutet",
            "it": "cos'è | chi è | chi era | quando | dove | definisci",
            "pt": "o que é | quem é | quem foi | quando | onde | defina",
            "ru": "что такое | что означает | кто такой | кто такая | когда | где",
            "uk": "що таке | хто такий | коли | де",
            "zh": "什么是 | 是什么 | 是谁 | 在哪 | 什么时候 | 定义",
            "ja": "とは | 何ですか | 誰 | いつ | どこ | 定義",
            "ko": "무엇 | 뭐야 | 누구 | 언제 | 어디",
            "ar": "ما هو | ما هي | من هو | متى | أين",
            "hi": "क्या है | कौन | कब | कहाँ | कहां",
            "bn": "কী | কি | কে | কখন | কোথায়",
            "te": "ఏమిటి | ఎవరు | ఎప్పుడు | ఎక్కడ",
            "th": "คืออะไร | ใคร | เมื่อไหร่ | ที่ไหน",
            "sw": "ni nini | nani | lini | wapi",
            "vi": "là gì | là ai | khi nào | ở đâu",
            "tr": "nedir | kimdir | ne zaman | nerede",
        },
    ),
    Concept(
        "quantity",
        "asks to work out a quantity",
        {
            "en": "how many | how much | how long | how far | how old | calculate | compute"
            " | total | altogether | in all | solve | find the value",
            "es": "cuántos | cuántas | cuánto | cuánta | qué edad | calcula | calcule | total"
            " | en total | resuelve",
            "fr": "combien | quel âge | calcule | calculez | total | au total | résous | résolvez",
            "de": "wie viele | wie vielen | wie viel | wie oft | wie hoch | wie lange | wie weit"
            " | wie alt | berechne | berechnen | insgesamt | gesamt* | löse",
            "it": "quanti | quante | quanto | quanta | calcola | totale | risolvi",
            "pt": "quantos | quantas | quanto | quanta | calcule | total | resolva",
            "ru": "сколько | скольк* | вычисли* | посчитай* | рассчита* | всего | итого | найдите"
            " | реши*",
            "uk": "скільки | обчисли* | всього",
            "zh": "多少 | 几个 | 几 | 计算 | 总共 | 一共 | 求",
            "ja": "いくつ | 何個 | 何人 | 何円 | 何本 | 何枚 | 何時間 | 何分 | 何日 | 何回 | 何匹"
            " | 何歳 | 何ドル | 何マイル | 何キロ | 何メートル | 何ミリ | 何リットル | 何冊"
            " | 何台 | 何杯 | いくら | どのくらい | どれくらい | 計算 | 合計 | 全部で | 求め",
            "ko": "몇 | 얼마 | 계산 | 총",
            "ar": "كم | احسب | المجموع",
            "hi": "कितने | कितना | कितनी | गणना | कुल",
            "bn": "কত | কতগুলি | কতগুলো | কতজন | কতটি | কতটা | কতক্ষণ | হিসাব | মোট",
            "te": "ఎన్ని | ఎంత | లెక్కించ* | మొత్తం",
            "th": "กี่ | เท่าไร | เท่าไหร่ | คำนวณ | ทั้งหมด",
            "sw": "ngapi | wangapi | vingapi | mangapi | zingapi | kangapi | yangapi | lingapi"
            " | kiasi gani | muda gani | hesabu | jumla",
            "vi": "bao nhiêu | mấy | tính | tổng cộng",
            "tr": "kaç | ne kadar | hesapla | toplam",
        },
    ),
    Concept(
        "advanced_math",
        "advanced mathematics",
        {
            "en": "integral | derivative | matrix | eigenvalue* | theorem | lemma | polynomial"
            " | probability | topology | differential | converge* | manifold | isomorphi*"
            " | homomorphi* | prime | primes | infinitely | irrational | induction | modulo",
            "es": "integral | derivada | matriz | teorema | polinomio | probabilidad | primos",
            "fr": "intégrale | dérivée | matrice | théorème | polynôme | probabilité | premiers",
            "de": "integral | ableitung | matrix | theorem | satz | polynom"
            " | wahrscheinlichkeit | primzahl*",
            "it": "integrale | derivata | matrice | teorema | polinomio | probabilità",
            "pt": "integral | derivada | matriz | teorema | polinômio | probabilidade",
            "ru": "интеграл* | производн* | матриц* | теорем* | многочлен* | вероятност*"
            " | простых | иррациональн*",
            "zh": "积分 | 导数 | 矩阵 | 定理 | 多项式 | 概率 | 素数 | 质数 | 无理数",
            "ja": "積分 | 微分 | 行列 | 定理 | 多項式 | 確率 | 素数 | 無理数",
            "ko": "적분 | 미분 | 행렬 | 정리 | 다항식 | 확률 | 소수",
            "ar": "تكامل | مشتقة | مصفوفة | مبرهنة | احتمال",
            "hi": "समाकल | अवकलज | आव्यूह | प्रमेय | प्रायिकता | अभाज्य",
            "bn": "সমাকলন | অবকলন | ম্যাট্রিক্স | উপপাদ্য | সম্ভাবনা | মৌলিক",
            "te": "సమాకలనం | అవకలనం | సిద్ధాంతం | సంభావ్యత",
            "th": "ปริพันธ์ | อนุพันธ์ | เมทริกซ์ | ทฤษฎีบท | ความน่าจะเป็น | จำนวนเฉพาะ",
            "sw": "kamilisho | nadharia | uwezekano",
            "vi": "tích phân | đạo hàm | ma trận | định lý | xác suất | số nguyên tố",
            "tr": "integral | türev | matris | teorem | olasılık | asal",
        },
    ),
    Concept(
        "derive",
        "asks for a derivation",
        {
            "en": "derive | derives | deriving | derivation",
            "es": "deriva | derive | derivar | derivación | deduce | deducir",
            "fr": "dériver | dérivez | dérive | déduire | déduisez",
            "de": "herleiten | herleitung | leite",
            "it": "deriva | derivare | ricava",
            "pt": "derive | derivar | deduza",
            "ru": "выведи* | вывести | вывод формулы",
            "zh": "推导 | 导出",
            "ja": "導出 | 導いて",
            "ko": "유도",
            "tr": "türet",
        },
    ),
    Concept(
        "systems",
        "hard systems or computing topic",
        {
            "en": "compiler | compilers | interpreter | bytecode | garbage collector"
            " | allocator | kernel | scheduler | mutex | semaphore | atomic | atomics"
            " | memory model | memory ordering | race condition | data race | deadlock"
            " | livelock | consensus | raft | byzantine | sharding | replication"
            " | linearizable | linearizability | b-tree | lsm | query planner"
            " | cache coherence | virtual memory | hypervisor | filesystem | simd"
            " | cuda | vectorization | type inference | type system | borrow checker"
            " | llvm | parser | lexer | grammar | firmware | zero-knowledge"
            " | elliptic curve | side-channel | exploit | rootkit | distributed system"
            " | fault tolerance | eventual consistency | crdt",
            "es": "compilador | intérprete | planificador | interbloqueo | consenso"
            " | replicación | condición de carrera",
            "fr": "compilateur | interpréteur | ordonnanceur | interblocage | consensus"
            " | réplication | condition de course",
            "de": "compiler | übersetzer | interpreter | scheduler | verklemmung | konsens"
            " | replikation | wettlaufsituation",
            "it": "compilatore | interprete | stallo | consenso | replicazione",
            "pt": "compilador | interpretador | impasse | consenso | replicação",
            "ru": "компилятор* | интерпретатор* | планировщик* | взаимоблокировк*"
            " | консенсус* | репликаци* | гонк* | ядр*",
            "uk": "компілятор* | інтерпретатор*",
            "zh": "编译器 | 解释器 | 调度器 | 死锁 | 共识 | 并发 | 竞态 | 内核"
            " | 分布式系统 | 垃圾回收 | 字节码",
            "ja": "コンパイラ | インタプリタ | スケジューラ | デッドロック | 合意"
            " | 競合状態 | カーネル | 分散システム | ガベージコレクタ | バイトコード",
            "ko": "컴파일러 | 인터프리터 | 교착 | 합의 | 경쟁 조건 | 커널 | 분산 시스템",
            "ar": "مترجم | نواة | جمود",
            "hi": "कंपाइलर | डेडलॉक",
            "bn": "কম্পাইলার",
            "th": "คอมไพเลอร์",
            "vi": "trình biên dịch | bế tắc | đồng thuận",
            "tr": "derleyici | yorumlayıcı | kilitlenme | mutabakat",
        },
    ),
    Concept(
        "theory",
        "deep theory",
        {
            "en": "np-complete | np-hard | turing machine | lambda calculus | category theory"
            " | formal verification | invariant | hilbert | lebesgue | measure theory"
            " | galois | homology | homotopy | riemann | fourier | laplace | stochastic"
            " | martingale | lagrangian | hamiltonian | quantum field"
            " | general relativity | renormalization | variational | asymptotic"
            " | combinatorial | olympiad | conjecture | bijection | diophantine",
            "es": "np-completo | máquina de turing | invariante | conjetura",
            "fr": "np-complet | machine de turing | invariant | conjecture",
            "de": "np-vollständig | turingmaschine | invariante | vermutung",
            "it": "congettura",
            "pt": "conjectura",
            "ru": "np-полн* | машина тьюринга | инвариант* | гипотез*",
            "zh": "图灵机 | 不变量 | 猜想",
            "ja": "チューリングマシン | 不変量 | 予想",
            "ko": "튜링 기계 | 불변량 | 추측",
            "ar": "آلة تورنغ",
            "hi": "ट्यूरिंग",
        },
    ),
    Concept(
        "depth",
        "asks for depth",
        {
            "en": "in depth | in detail | detailed | comprehensive | thorough | rigorous"
            " | step by step | step-by-step | exhaustive",
            "es": "en detalle | detallado | detallada | exhaustivo | paso a paso",
            "fr": "en détail | détaillé | détaillée | approfondi | étape par étape",
            "de": "ausführlich | detailliert | gründlich | schritt für schritt",
            "it": "in dettaglio | dettagliato | approfondito | passo dopo passo",
            "pt": "em detalhe | detalhado | detalhada | passo a passo",
            "ru": "подробно | подробн* | детально | пошагово | шаг за шагом",
            "uk": "детально | докладно | покроково | крок за кроком",
            "zh": "详细 | 深入 | 逐步 | 全面",
            "ja": "詳しく | 詳細 | 徹底 | 段階的",
            "ko": "자세히 | 상세 | 단계별",
            "ar": "بالتفصيل | مفصل",
            "hi": "विस्तार | विस्तृत",
            "bn": "বিস্তারিত",
            "te": "వివరంగా | సవివరంగా",
            "th": "อย่างละเอียด | ละเอียด",
            "sw": "kwa kina | kwa undani",
            "vi": "chi tiết | từng bước",
            "tr": "ayrıntılı | detaylı | adım adım",
        },
    ),
    Concept(
        "brevity",
        "asks for a short answer",
        {
            "en": "briefly | brief | short | quick | quickly | one sentence | one word"
            " | in a nutshell | tl;dr | simple terms",
            "es": "brevemente | breve | corto | corta | una frase | una palabra",
            "fr": "brièvement | bref | brève | court | courte | une phrase | un mot",
            "de": "kurz | knapp | einem satz | einem wort",
            "it": "brevemente | breve | una frase",
            "pt": "brevemente | breve | curto | curta | uma frase",
            "ru": "кратко | коротко | одним словом | одним предложением",
            "uk": "коротко | стисло",
            "zh": "简短 | 简要 | 简单地 | 一句话",
            "ja": "簡単に | 短く | 一言で | 簡潔",
            "ko": "간단히 | 짧게 | 한 문장",
            "ar": "باختصار | بإيجاز",
            "hi": "संक्षेप | संक्षिप्त",
            "bn": "সংক্ষেপে",
            "te": "క్లుప్తంగా",
            "th": "สั้นๆ | สั้น ๆ | โดยย่อ",
            "sw": "kwa ufupi",
            "vi": "ngắn gọn | tóm lại",
            "tr": "kısaca | kısa",
        },
    ),
    Concept(
        "casual",
        "casual wording",
        {
            "en": "lol | lmao | haha | hahaha | jk | kidding | joke | funny | cool | fun | silly"
            " | username | nickname | meme | emoji",
            "es": "jaja | jajaja | broma | chiste | divertido",
            "fr": "mdr | lol | blague | drôle | rigolo",
            "de": "haha | witz | lustig",
            "it": "ahah | scherzo | barzelletta | divertente",
            "pt": "kkk | rsrs | piada | engraçado",
            "ru": "ахах | хаха | шутк* | смешн* | прикол*",
            "zh": "哈哈 | 笑话 | 开玩笑 | 好玩",
            "ja": "笑 | 冗談 | 面白い | ジョーク",
            "ko": "ㅋㅋ | 농담 | 재미",
            "ar": "هههه | نكتة",
            "hi": "मज़ाक | चुटकुला",
            "th": "555 | มุก | ตลก",
            "sw": "utani | kichekesho",
            "vi": "haha | đùa | vui",
            "tr": "haha | şaka | komik",
        },
    ),
    Concept(
        "closed",
        "a closed question about what is given",
        {
            "en": "which language | what language | what year | what date | who sent | who wrote"
            " | how many lines | how many words | how many rows | count the | capitalize"
            " | uppercase | lowercase | alphabetize | alphabetical order | first line | last line"
            " | what format",
            "es": "qué idioma | qué lenguaje | qué año | quién escribió | cuántas líneas"
            " | cuántas palabras | cuántas filas | mayúsculas | minúsculas | primera línea"
            " | orden alfabético",
            "fr": "quelle langue | quel langage | quelle année | qui a écrit | combien de lignes"
            " | combien de mots | majuscules | minuscules | première ligne | ordre alphabétique",
            "de": "welche sprache | welches jahr | wer hat geschrieben | wie viele zeilen"
            " | wie viele wörter | großbuchstaben | kleinbuchstaben | erste zeile"
            " | alphabetisch",
            "it": "quale lingua | che lingua | che anno | chi ha scritto | quante righe"
            " | quante parole | maiuscolo | prima riga | ordine alfabetico",
            "pt": "qual idioma | que idioma | que ano | quem escreveu | quantas linhas"
            " | quantas palavras | maiúsculas | primeira linha | ordem alfabética",
            "ru": "какой язык | на каком языке | какой год | кто написал | сколько строк"
            " | сколько слов | заглавными | первую строку | по алфавиту",
            "uk": "яка мова | якою мовою | скільки рядків | скільки слів",
            "zh": "几行 | 多少行 | 什么语言 | 哪种语言 | 哪一年 | 谁写的 | 大写 | 第一行",
            "ja": "何行 | 何語 | 何年 | 誰が書 | 大文字 | 最初の行",
            "ko": "몇 줄 | 무슨 언어 | 어떤 언어 | 몇 년 | 대문자",
            "tr": "kaç satır | hangi dil | hangi yıl | kim yazdı | büyük harf",
            "ar": "أي لغة | ما اللغة | كم سطر | كم كلمة | من كتب",
            "hi": "कौन सी भाषा | कितनी पंक्तियाँ | कितने शब्द | किसने लिखा",
            "bn": "কোন ভাষা | কত লাইন | কত শব্দ | কে লিখেছে",
            "te": "ఏ భాష | ఎన్ని పంక్తులు | ఎన్ని పదాలు | ఎవరు రాశారు",
            "th": "ภาษาอะไร | กี่บรรทัด | กี่คำ | ใครเขียน",
            "sw": "lugha gani | mistari mingapi | maneno mangapi | nani aliandika",
            "vi": "ngôn ngữ nào | bao nhiêu dòng | bao nhiêu từ | ai viết",
        },
    ),
    Concept(
        "roleplay",
        "asks for a role-play",
        {
            "en": "pretend | act as | roleplay | role-play | imagine you are | you are a",
            "es": "finge | actúa como | imagina que eres",
            "fr": "fais semblant | joue le rôle | imagine que tu es",
            "de": "tu so | stell dir vor | du bist ein",
            "it": "fingi | immagina di essere",
            "pt": "finja | aja como | imagine que você",
            "ru": "представь* | притворись | сыграй",
            "zh": "扮演 | 假装 | 假设你是",
            "ja": "なりきって | 演じて | ふりをして",
            "ko": "역할 | 척해",
            "tr": "gibi davran | rol yap",
        },
    ),
)

# Explicit constraints on the answer, by kind. Each distinct term found counts as one
# constraint; stacking constraints is what makes an instruction hard to follow exactly.
CONSTRAINTS: tuple[Concept, ...] = (
    Concept(
        "limit",
        "a length limit",
        {
            "en": "at least | at most | exactly | no more than | no less than | fewer than"
            " | less than | more than | maximum | minimum | up to | word count"
            " | words | sentences | paragraphs | characters | lines",
            "es": "al menos | como máximo | exactamente | no más de | menos de | más de"
            " | palabras | oraciones | frases | párrafos | caracteres",
            "fr": "au moins | au plus | exactement | pas plus de | moins de | plus de | mots"
            " | phrases | paragraphes | caractères",
            "de": "mindestens | höchstens | genau | nicht mehr als | weniger als | wörter"
            " | sätze | absätze | zeichen",
            "it": "almeno | al massimo | esattamente | parole | frasi | paragrafi",
            "pt": "pelo menos | no máximo | exatamente | palavras | frases | parágrafos",
            "ru": "не менее | не более | ровно | минимум | максимум | слов | предложени* | абзац*",
            "zh": "至少 | 最多 | 不超过 | 不少于 | 字以内 | 个字 | 段落 | 句话 | 句子",
            "ja": "以上 | 以内 | 少なくとも | 字以下 | ちょうど | 文字以 | 段落 | 単語",
            "ko": "이상 | 이내 | 이하 | 단어 | 문장 | 문단",
            "bn": "অন্তত | কমপক্ষে | সর্বাধিক | সর্বোচ্চ | শব্দ* | বাক্য* | অনুচ্ছেদ* | অক্ষর*",
            "te": "కనీసం | గరిష్ఠ* | గరిష్ట* | పదాలు | పదాల | వాక్యాలు | వాక్యాల | పేరాలు | అక్షరాలు",
            "th": "อย่างน้อย | ไม่เกิน | ไม่น้อยกว่า | สูงสุด | ประโยค | ย่อหน้า | ตัวอักษร",
            "sw": "angalau | zaidi ya | chini ya | kwa usahihi | maneno | sentensi | aya | herufi"
            " | mistari",
        },
    ),
    Concept(
        "avoid",
        "something to avoid",
        {
            "en": "do not | don't | without | avoid | never | must not | no commas | refrain from",
            "es": "no uses | no utilices | sin | evita | nunca | no incluyas",
            "fr": "n'utilisez pas | n'utilise pas | sans | évitez | évite | jamais | ne pas",
            "de": "ohne | vermeide* | niemals | nicht verwenden | nicht benutzen | verwende kein*"
            " | darf nicht | dürfen nicht",
            "it": "non usare | senza | evita | non includere",
            "pt": "não use | sem | evite | nunca",
            "ru": "не используй* | без | избегай* | никогда",
            "zh": "不要 | 不能 | 不得 | 避免 | 禁止 | 不使用 | 不含",
            "ja": "使わない | 使用しない | 含めない | 避け | 禁止 | しないで",
            "ko": "사용하지 | 하지 마 | 없이 | 피하",
            "bn": "ছাড়া | এড়িয়ে | কখনও | করবেন না | ব্যবহার করবেন না",
            "te": "లేకుండా | వాడవద్దు | ఉపయోగించవద్దు | నివారించ*",
            "th": "ห้าม | ไม่ใช้ | หลีกเลี่ยง | โดยไม่",
            "sw": "bila | usitumie | epuka | kamwe",
        },
    ),
    Concept(
        "format",
        "an output format",
        {
            "en": "json | markdown | table | bullet | bullets | bullet points | title"
            " | heading | headings | section | sections | lowercase | uppercase | capital letters"
            " | capitalized | all caps | quotation marks | highlight | highlighted"
            " | placeholder | placeholders | postscript | p.s. | numbered list | format"
            " | formatted | yaml | csv | xml",
            "es": "formato | tabla | viñetas | título | sección | secciones | minúsculas"
            " | mayúsculas | comillas | json | lista numerada",
            "fr": "format | tableau | puces | titre | section | sections | minuscules"
            " | majuscules | guillemets | json | liste numérotée",
            "de": "format | tabelle | aufzählung | titel | überschrift | abschnitt"
            " | kleinbuchstaben | großbuchstaben | anführungszeichen | json",
            "it": "formato | tabella | elenco puntato | titolo | sezione | minuscolo | maiuscolo",
            "pt": "formato | tabela | marcadores | título | seção | minúsculas | maiúsculas",
            "ru": "формат* | таблиц* | маркированн* | заголов* | раздел* | строчн*"
            " | заглавн* | кавычк*",
            "zh": "格式 | 表格 | 列表 | 标题 | 小节 | 大写 | 小写 | 引号 | 编号 | 加粗 | 粗体"
            " | 斜体 | 高亮 | 占位符 | 附言",
            "ja": "形式 | 表形式 | 箇条書き | 見出し | タイトル | セクション | 大文字"
            " | 小文字 | かぎ括弧 | 二重引用符 | json | マークダウン | 強調 | 太字 | 斜体"
            " | プレースホルダー | 追伸",
            "ko": "형식 | 표 | 글머리 | 제목 | 섹션 | 대문자 | 소문자",
            "bn": "বুলেট | শিরোনাম | টেবিল | সারণি | বিন্যাস | তালিকা | json",
            "te": "పట్టిక | శీర్షిక | జాబితా | ఫార్మాట్ | బుల్లెట్ | json",
            "th": "ตาราง | หัวข้อย่อย | บูลเล็ต | ตัวพิมพ์ใหญ่ | ตัวพิมพ์เล็ก",
            "sw": "jedwali | kichwa cha habari | orodha | vitone | json",
        },
    ),
    Concept(
        "include",
        "something that must appear",
        {
            "en": "include | mention | keyword | keywords | must contain"
            " | must use | make sure | ensure | should contain | the word | the letter",
            "es": "incluye | incluya | incluir | menciona | palabras clave | asegúrate"
            " | debe contener",
            "fr": "inclure | incluez | inclus | mentionne | mentionnez | mots-clés"
            " | assurez-vous | doit contenir",
            "de": "enthalten | erwähne | schlüsselwörter | stelle sicher | achte darauf",
            "it": "includi | menziona | parole chiave | assicurati",
            "pt": "inclua | mencione | palavras-chave | certifique-se",
            "ru": "включи* | упомяни* | ключев* | обязательно | должен | должна | должно",
            "zh": "包含 | 包括 | 提到 | 关键词 | 必须 | 确保 | 一定要",
            "ja": "含めて | 含める | 含むこと | 入れて | キーワード | 必ず | 言及",
            "ko": "포함 | 키워드 | 반드시 | 언급",
            "bn": "অন্তর্ভুক্ত | উল্লেখ | নিশ্চিত | অবশ্যই",
            "te": "చేర్చ* | పేర్కొన* | తప్పనిసరిగా | నిర్ధారించ*",
            "th": "รวมถึง | ต้องมี | ระบุ | ให้แน่ใจ | คำสำคัญ",
            "sw": "jumuisha | taja | hakikisha | lazima | maneno muhimu",
        },
    ),
    Concept(
        "edges",
        "how it must start or end",
        {
            "en": "start with | begin with | end with | finish with | starting with"
            " | ending with | first word | last word | wrap",
            "es": "comienza con | empieza con | termina con | terminar con | primera palabra",
            "fr": "commencez par | commence par | terminez par | termine par | premier mot",
            "de": "beginne mit | beginnen mit | ende mit | enden mit | erstes wort",
            "it": "inizia con | termina con",
            "pt": "comece com | termine com",
            "ru": "начни* с | закончи* | начинаться | заканчиваться",
            "zh": "开头 | 结尾",
            "ja": "で始め | で始ま | で終わ | 始めて | 終えて",
            "ko": "시작 | 끝내",
            "bn": "দিয়ে শুরু | দিয়ে শেষ",
            "th": "เริ่มต้นด้วย | ลงท้ายด้วย | จบด้วย",
            "sw": "anza na | anza kwa | malizia na | maliza kwa",
        },
    ),
    Concept(
        "style",
        "a required style or audience",
        {
            "en": "tone | style | audience | formal | informal | persona | in the style of"
            " | for kids | for children | rhyme | rhyming | humorous | sarcastic"
            " | shakespearean",
            "es": "tono | estilo | audiencia | formal | para niños | rima",
            "fr": "le ton | un ton | style | public | formel | pour enfants | rime",
            "de": "tonfall | stil | zielgruppe | förmlich | für kinder | reim*",
            "it": "tono | stile | pubblico | per bambini",
            "pt": "tom | estilo | público | para crianças",
            "ru": "тон | стил* | аудитори* | для детей | рифм*",
            "zh": "语气 | 风格 | 口吻 | 受众 | 押韵 | 儿童 | 幽默 | 讽刺",
            "ja": "口調 | 文体 | スタイル | トーン | 読者 | 子供向け | 韻 | 皮肉 | ユーモア",
            "ko": "말투 | 스타일 | 어조 | 독자",
            "bn": "শৈলী | শ্রোতা | আনুষ্ঠানিক | শিশুদের জন্য | ছন্দ*",
            "te": "శైలి | స్వరం | ప్రేక్షకుల* | అధికారిక | పిల్లల కోసం | ప్రాస",
            "th": "น้ำเสียง | สไตล์ | กลุ่มผู้อ่าน | สำหรับเด็ก",
            "sw": "mtindo | hadhira | kwa watoto | vina",
        },
    ),
)
