"""The UI's own message catalogue: every visible string, per scope and language.

Scopes: ``clerk`` (ja, en) and ``customer`` (ja, en, zh, ko). A test checks that every key
exists in every language of its scope. Values use ``str.format`` fields.
"""

from __future__ import annotations

from typing import Any, Final

LANGUAGE_NAMES: Final[dict[str, str]] = {
    "ja": "日本語", "en": "English", "zh": "中文", "ko": "한국어",
}

_CLERK_JA: Final[dict[str, str]] = {
    "app.title": "窓口レジ",
    "keypad.back": "1字消す", "keypad.clear": "クリア",
    "login.title": "ログイン", "login.choose_clerk": "担当者を選んでください",
    "login.pin": "暗証番号", "login.button": "ログイン",
    "login.no_clerk": "担当者を選んでから暗証番号を入力してください。",
    "login.no_pin": "暗証番号を入力してください。",
    "login.wrong": "暗証番号が違います。あと{remaining}回まちがえるとロックされます。",
    "login.locked": "暗証番号を続けてまちがえたためロックしました。{seconds}秒後にもう一度"
                    "お試しいただくか、責任者に連絡してください。",
    "login.auto_locked": "しばらく操作がなかったのでロックしました。暗証番号で再開してください。",
    "login.recovering": "前回の支払いを確認しています。しばらくお待ちください。",
    "login.open_sale": "支払い途中の取引があります。ログインすると支払い画面に戻ります。",
    "nav.sale": "販売", "nav.cash": "入出金", "nav.refund": "返金・取消",
    "nav.reports": "点検・精算", "nav.training_on": "練習開始", "nav.training_off": "練習終了",
    "nav.switch": "担当交代", "nav.language": "English",
    "banner.training": "練習モード — この取引は売上に入りません",
    "banner.offline": "ネットワークに接続できません。販売は続けられます（記録は後で送信します）。",
    "sale.title": "料金を選んでください", "sale.hint": "ボタンを押すとカートに入ります。",
    "sale.cart": "カート", "sale.total": "合計", "sale.pay": "会計へ", "sale.clear": "全部消す",
    "sale.remove": "削除", "sale.visitor_general": "一般", "sale.added": "追加しました: {name}",
    "pay.title": "お支払い", "pay.total": "合計", "pay.paid": "お支払い済み",
    "pay.remaining": "残り", "pay.keypad": "お預り金額・分割の金額",
    "pay.scan_field": "QRコード（スキャナ入力）", "pay.addressee": "宛名",
    "pay.purpose": "但し書き", "pay.resolve": "決済結果を確認", "pay.cancel": "取引を中止",
    "pay.quick_exact": "ちょうど", "pay.scan_now": "お客様のQRコードを読み取ってください。",
    "pay.scanned": "QRコードを読み取りました。",
    "pay.in_progress": "{kind}で支払い中です。決済端末の案内に従ってください。",
    "pay.partial_ok": "一部の支払いが済みました。残りのお支払い方法を選んでください。",
    "pay.qr_shown": "お客様画面にQRコードを表示しました。支払い後「QR入金確認」を押してください。",
    "pay.follow_terminal": "決済端末の画面に従ってください。",
    "pay.qr_waiting": "お客様画面にQRコードを表示しました。お支払いを待っています…",
    "pay.qr_not_yet": "まだお支払いが確認できません。お客様のお支払いをお待ちください。",
    "pay.qr_cancelled": "QRコードを取り消しました。別のお支払い方法を選べます。",
    "pay.qr_cancel": "QR取消",
    "pay.resolved": "決済結果を確認しました。", "pay.cancelled": "取引を中止しました。",
    "pay.recovered": "中断した取引の支払い画面に戻りました。続けてお支払いを受けてください。",
    "pay.finish_first": "支払い中の取引があります。先に支払いを済ませるか中止してください。",
    "tender.cash": "現金", "tender.credit": "クレジット", "tender.emoney": "電子マネー",
    "tender.transit_ic": "交通系IC", "tender.qr": "QRコード決済",
    "tender.qr_scan": "QR読取", "tender.qr_show": "QR表示", "tender.qr_confirm": "QR入金確認",
    "tender.points": "ポイント", "tender.points_soon": "ポイント（準備中）",
    "pay.points_tap": "カードをタッチしてください（はちのへポイント）。",
    "pay.points_reading": "ポイント残高を確認しています…",
    "pay.points_balance": "カード {card} の残高は {balance} ポイントです。使うポイント数を"
                          "テンキーで入力して「ポイントを使う」を押してください"
                          "（未入力なら {usable} ポイント）。",
    "pay.points_none": "カード {card} には使えるポイントがありません。別のお支払い方法を"
                       "選んでください。",
    "pay.points_too_many": "使えるのは 1〜{usable} ポイントです。",
    "pay.points_use": "ポイントを使う",
    "pay.points_redeeming": "ポイントを使っています…",
    "done.title.sale": "お会計が終わりました", "done.title.refund": "返金しました",
    "done.title.void": "取消しました", "done.change": "お釣り", "done.total": "合計",
    "done.receipt_no": "レシート番号 {no}", "done.printing": "レシートを印刷しています…",
    "done.printed": "レシートを印刷しました。",
    "done.print_failed": "印刷できませんでした。取引は保存済みです。直してから「もう一度印刷」"
                         "を押してください。",
    "done.no_printer": "プリンターが設定されていません。画面の控えをご確認ください。",
    "done.retry": "もう一度印刷", "done.reprint": "再発行（責任者）", "done.next": "次のお客様",
    "approve.title": "責任者の承認", "approve.button": "承認", "approve.back": "戻る",
    "approve.missing": "責任者を選び、暗証番号を入力してください。",
    "approve.refused": "承認できませんでした。責任者の暗証番号を確認してください。",
    "approve.refund": "返金には責任者の承認が必要です。", "approve.void": "取消には責任者の承認が"
                      "必要です。", "approve.reprint": "再発行には責任者の承認が必要です。",
    "approve.training": "練習モードの切り替えには責任者の承認が必要です。",
    "refund.title": "返金・取消", "refund.recent": "最近の取引",
    "refund.seq": "取引番号（レシートの #）", "refund.find": "取引を呼び出す",
    "refund.pick": "取引を選んでください。", "refund.by_cash": "現金で返す",
    "refund.by_original": "元の支払方法で返す", "refund.refund": "選んだ数量を返金",
    "refund.void": "取引全体を取消", "refund.none_chosen": "返金する数量を＋で選んでください。",
    "refund.done.refund": "返金しました。", "refund.done.void": "取消しました。",
    "reports.title": "点検・精算", "reports.x": "点検（X）を表示", "reports.z": "精算（Z）で締める",
    "reports.daily_log": "決済端末の日計も取る", "reports.counted": "現金実査",
    "reports.expected": "理論残高", "reports.difference": "過不足",
    "reports.x_heading": "点検（X）", "reports.z_heading": "精算（Z）",
    "reports.closed": "精算しました。次の業務はログインから始めてください。",
    "report.count": "売上件数", "report.refund_count": "返金件数", "report.void_count": "取消件数",
    "report.visits": "利用者数", "report.total": "売上合計", "report.grand_total": "累計",
    "report.cash_expected": "現金理論残高",
    "cash.title": "入出金", "cash.amount": "金額", "cash.reason": "理由", "cash.apply": "記録する",
    "cash.cash.float": "釣銭準備金", "cash.cash.in": "入金", "cash.cash.out": "出金",
    "cash.reason.change": "両替", "cash.reason.refill": "釣銭補充", "cash.reason.deposit": "入金",
    "cash.reason.float": "準備金", "cash.no_amount": "金額を入力してください。",
    "cash.done": "{kind} {amount} を記録しました。",
    "training.on": "練習モードを開始しました。", "training.off": "練習モードを終了しました。",
    "status.reader": "カードリーダー", "status.printer": "プリンター",
    "status.terminal": "決済端末", "status.network": "ネットワーク", "status.busy": "処理中…",
    "status.ok": "正常", "status.warn": "要確認", "status.error": "エラー",
    "status.off": "未接続", "status.info": "処理中", "status.pending": "未送信{count}件",
    "feedback.card": "カードを読み取りました。",
    "sim.title": "シミュレーター", "sim.approve": "決済を承認", "sim.decline": "決済を拒否",
    "sim.tap": "カードをタッチ", "sim.remove": "カードを離す", "sim.paper_out": "用紙切れ",
    "err.pending": "決済の結果がまだ分かりません。決済端末の画面を確認してから「決済結果を確認」"
                   "を押してください。二重に請求されることはありません。",
    "err.declined": "お支払いが承認されませんでした。別のカードか別の支払方法をお選びください。",
    "err.paper_out": "レシート用紙がありません。用紙を入れてから「もう一度印刷」を押してください。"
                     "取引は保存済みです。",
    "err.cover_open": "プリンターのふたが開いています。閉めてから「もう一度印刷」を"
                      "押してください。",
    "err.printer_offline": "プリンターにつながりません。電源とケーブルを確認してから、もう一度"
                           "お試しください。取引は保存済みです。",
    "err.card_removed": "カードが途中で離れました。もう一度タッチしてください。",
    "err.device_timeout": "機器から応答がありません。機器を確認してから、もう一度お試しください。"
                          "取引はそのまま残っています。",
    "err.device_unavailable": "機器が見つかりません。ケーブルと電源を確認してください。取引は"
                              "そのまま残っています。別の支払方法も選べます。",
    "err.device": "機器でエラーが起きました。機器を確認してから、もう一度お試しください。",
    "err.approval": "責任者の承認が得られませんでした。",
    "err.auth": "ログインしてから操作してください。",
    "err.journal": "記録を保存できませんでした。操作を止めて、情報担当に連絡してください。",
    "err.domain": "この操作はできません。内容を確認してください。",
    "err.unexpected": "予期しないエラーが起きました。取引は保存済みです。責任者に"
                      "連絡してください。",
}

_CLERK_EN: Final[dict[str, str]] = {
    "app.title": "Counter register",
    "keypad.back": "Delete", "keypad.clear": "Clear",
    "login.title": "Log in", "login.choose_clerk": "Choose the clerk",
    "login.pin": "PIN", "login.button": "Log in",
    "login.no_clerk": "Choose the clerk first, then enter the PIN.",
    "login.no_pin": "Enter the PIN.",
    "login.wrong": "Wrong PIN. {remaining} more wrong tries lock this clerk.",
    "login.locked": "Locked after too many wrong PINs. Try again in {seconds} s, or ask a "
                    "supervisor.",
    "login.auto_locked": "Locked after a while without use. Enter the PIN to continue.",
    "login.recovering": "Checking the last payment. Please wait.",
    "login.open_sale": "A sale was being paid. Log in to return to its payment.",
    "nav.sale": "Sale", "nav.cash": "Cash in/out", "nav.refund": "Refund/void",
    "nav.reports": "X / Z", "nav.training_on": "Start training",
    "nav.training_off": "End training", "nav.switch": "Switch clerk", "nav.language": "日本語",
    "banner.training": "TRAINING MODE — nothing here counts in the takings",
    "banner.offline": "No network. Selling continues; records are sent later.",
    "sale.title": "Choose the fees", "sale.hint": "Tap a fee to add it to the cart.",
    "sale.cart": "Cart", "sale.total": "Total", "sale.pay": "Pay", "sale.clear": "Clear all",
    "sale.remove": "Remove", "sale.visitor_general": "General", "sale.added": "Added: {name}",
    "pay.title": "Payment", "pay.total": "Total", "pay.paid": "Paid", "pay.remaining": "Due",
    "pay.keypad": "Cash given or split amount", "pay.scan_field": "QR code (scanner input)",
    "pay.addressee": "Addressee", "pay.purpose": "Purpose",
    "pay.resolve": "Check payment result", "pay.cancel": "Cancel sale",
    "pay.quick_exact": "Exact", "pay.scan_now": "Scan the visitor's QR code.",
    "pay.scanned": "QR code read.",
    "pay.in_progress": "Paying by {kind}. Follow the payment terminal.",
    "pay.partial_ok": "Part paid. Choose how the rest is paid.",
    "pay.qr_shown": "QR code shown to the visitor. Press “Confirm QR” once they paid.",
    "pay.follow_terminal": "Follow the payment terminal's screen.",
    "pay.qr_waiting": "QR code shown to the visitor. Waiting for the payment…",
    "pay.qr_not_yet": "No payment yet. Please wait for the visitor to pay.",
    "pay.qr_cancelled": "QR code cancelled. Choose another way to pay.",
    "pay.qr_cancel": "Cancel QR",
    "pay.resolved": "Payment result checked.", "pay.cancelled": "Sale cancelled.",
    "pay.recovered": "Back at the interrupted sale's payment. Continue taking payment.",
    "pay.finish_first": "A sale is being paid. Finish or cancel it first.",
    "tender.cash": "Cash", "tender.credit": "Credit card", "tender.emoney": "E-money",
    "tender.transit_ic": "Transit IC", "tender.qr": "QR payment",
    "tender.qr_scan": "Scan QR", "tender.qr_show": "Show QR", "tender.qr_confirm": "Confirm QR",
    "tender.points": "Points", "tender.points_soon": "Points (soon)",
    "pay.points_tap": "Ask the visitor to tap their card (Hachinohe points).",
    "pay.points_reading": "Checking the points balance…",
    "pay.points_balance": "Card {card} holds {balance} points. Type the points to use on the "
                          "keypad and press “Use points” (none typed: {usable} points).",
    "pay.points_none": "Card {card} has no points to use. Choose another way to pay.",
    "pay.points_too_many": "Between 1 and {usable} points can be used.",
    "pay.points_use": "Use points",
    "pay.points_redeeming": "Using the points…",
    "done.title.sale": "Payment complete", "done.title.refund": "Refunded",
    "done.title.void": "Voided", "done.change": "Change", "done.total": "Total",
    "done.receipt_no": "Receipt no. {no}", "done.printing": "Printing the receipt…",
    "done.printed": "Receipt printed.",
    "done.print_failed": "Could not print. The sale is saved. Fix the printer, then press "
                         "“Print again”.",
    "done.no_printer": "No printer is set up. Check the preview on screen.",
    "done.retry": "Print again", "done.reprint": "Reprint (supervisor)",
    "done.next": "Next visitor",
    "approve.title": "Supervisor approval", "approve.button": "Approve", "approve.back": "Back",
    "approve.missing": "Choose the supervisor and enter their PIN.",
    "approve.refused": "Not approved. Check the supervisor's PIN.",
    "approve.refund": "A refund needs a supervisor's approval.",
    "approve.void": "A void needs a supervisor's approval.",
    "approve.reprint": "A reprint needs a supervisor's approval.",
    "approve.training": "Switching training mode needs a supervisor's approval.",
    "refund.title": "Refund / void", "refund.recent": "Recent sales",
    "refund.seq": "Entry number (# on the receipt)", "refund.find": "Open the sale",
    "refund.pick": "Choose a sale.", "refund.by_cash": "Refund in cash",
    "refund.by_original": "Refund to original payment", "refund.refund": "Refund chosen items",
    "refund.void": "Void the whole sale", "refund.none_chosen": "Choose quantities with +.",
    "refund.done.refund": "Refunded.", "refund.done.void": "Voided.",
    "reports.title": "X report / Z closing", "reports.x": "Show X report",
    "reports.z": "Close the day (Z)", "reports.daily_log": "Also take the terminal's daily log",
    "reports.counted": "Cash counted", "reports.expected": "Cash expected",
    "reports.difference": "Difference", "reports.x_heading": "X report",
    "reports.z_heading": "Z closing",
    "reports.closed": "Day closed. Log in to start the next business.",
    "report.count": "Sales", "report.refund_count": "Refunds", "report.void_count": "Voids",
    "report.visits": "Visits", "report.total": "Net total", "report.grand_total": "Grand total",
    "report.cash_expected": "Cash expected",
    "cash.title": "Cash in / out", "cash.amount": "Amount", "cash.reason": "Reason",
    "cash.apply": "Record", "cash.cash.float": "Opening float", "cash.cash.in": "Cash in",
    "cash.cash.out": "Cash out", "cash.reason.change": "Change", "cash.reason.refill": "Refill",
    "cash.reason.deposit": "Deposit", "cash.reason.float": "Float",
    "cash.no_amount": "Enter the amount.", "cash.done": "Recorded {kind} {amount}.",
    "training.on": "Training mode started.", "training.off": "Training mode ended.",
    "status.reader": "Card reader", "status.printer": "Printer", "status.terminal": "Terminal",
    "status.network": "Network", "status.busy": "Working…", "status.ok": "OK",
    "status.warn": "Check", "status.error": "Error", "status.off": "Off",
    "status.info": "Working", "status.pending": "{count} unsent",
    "feedback.card": "Card read.",
    "sim.title": "Simulators", "sim.approve": "Approve payments",
    "sim.decline": "Decline payments", "sim.tap": "Tap a card", "sim.remove": "Remove the card",
    "sim.paper_out": "Paper out",
    "err.pending": "The payment result is not known yet. Check the terminal's screen, then "
                   "press “Check payment result”. Nothing is charged twice.",
    "err.declined": "The payment was declined. Try another card or another way to pay.",
    "err.paper_out": "The printer is out of paper. Load paper, then press “Print again”. "
                     "The sale is saved.",
    "err.cover_open": "The printer cover is open. Close it, then press “Print again”.",
    "err.printer_offline": "Cannot reach the printer. Check its power and cable, then try "
                           "again. The sale is saved.",
    "err.card_removed": "The card was removed too early. Tap it again.",
    "err.device_timeout": "The device did not answer. Check it and try again. The sale is kept.",
    "err.device_unavailable": "The device is not connected. Check its cable and power. The "
                              "sale is kept; another way to pay also works.",
    "err.device": "A device reported an error. Check it and try again.",
    "err.approval": "Not approved by a supervisor.",
    "err.auth": "Log in first.",
    "err.journal": "The record could not be saved. Stop and call IT support.",
    "err.domain": "This cannot be done. Check the details.",
    "err.unexpected": "Something unexpected went wrong. The sale is saved. Call a supervisor.",
}

_CUSTOMER: Final[dict[str, dict[str, str]]] = {
    "ja": {
        "welcome": "いらっしゃいませ", "total": "合計", "due": "お支払い金額",
        "choose_payment": "お支払い方法をお伝えください",
        "prompt.tap": "カードをタッチしてください", "prompt.pin": "暗証番号を入力してください",
        "prompt.remove": "カードをお取りください", "prompt.wait": "少々お待ちください",
        "prompt.scan": "QRコードを係員にお見せください",
        "prompt.follow": "決済端末の画面に従ってください",
        "qr": "QRコードを読み取ってお支払いください", "qr_hint": "スマートフォンのアプリで読み取り",
        "thanks": "ありがとうございました", "change": "おつり",
        "rate": "本日の対応はいかがでしたか（1〜5）", "rated": "ご回答ありがとうございました",
        "training": "練習中", "balance": "残高", "points": "{points} ポイント",
        "points_due": "お支払い金額 {amount}",
    },
    "en": {
        "welcome": "Welcome", "total": "Total", "due": "Amount due",
        "choose_payment": "Please tell us how you would like to pay",
        "prompt.tap": "Please tap your card", "prompt.pin": "Please enter your PIN",
        "prompt.remove": "Please remove your card", "prompt.wait": "One moment, please",
        "prompt.scan": "Please show your QR code to the clerk",
        "prompt.follow": "Please follow the payment terminal",
        "qr": "Scan the QR code to pay", "qr_hint": "Use your payment app",
        "thanks": "Thank you", "change": "Your change",
        "rate": "How was our service today? (1-5)", "rated": "Thank you for your feedback",
        "training": "TRAINING", "balance": "Balance", "points": "{points} points",
        "points_due": "Amount due {amount}",
    },
    "zh": {
        "welcome": "欢迎光临", "total": "合计", "due": "应付金额",
        "choose_payment": "请告诉工作人员您的付款方式",
        "prompt.tap": "请刷卡", "prompt.pin": "请输入密码", "prompt.remove": "请取回您的卡",
        "prompt.wait": "请稍候", "prompt.scan": "请向工作人员出示二维码",
        "prompt.follow": "请按照支付终端的提示操作",
        "qr": "请扫描二维码付款", "qr_hint": "请使用支付应用扫描",
        "thanks": "谢谢惠顾", "change": "找零",
        "rate": "您对今天的服务满意吗？（1〜5）", "rated": "感谢您的评价", "training": "练习中",
        "balance": "余额", "points": "{points} 积分", "points_due": "应付金额 {amount}",
    },
    "ko": {
        "welcome": "어서 오세요", "total": "합계", "due": "결제 금액",
        "choose_payment": "결제 방법을 말씀해 주세요",
        "prompt.tap": "카드를 터치해 주세요", "prompt.pin": "비밀번호를 입력해 주세요",
        "prompt.remove": "카드를 빼 주세요", "prompt.wait": "잠시만 기다려 주세요",
        "prompt.scan": "QR 코드를 직원에게 보여 주세요",
        "prompt.follow": "결제 단말기의 안내에 따라 주세요",
        "qr": "QR 코드를 스캔하여 결제해 주세요", "qr_hint": "결제 앱으로 스캔해 주세요",
        "thanks": "감사합니다", "change": "거스름돈",
        "rate": "오늘 서비스는 어떠셨나요? (1~5)", "rated": "응답해 주셔서 감사합니다",
        "training": "연습 중", "balance": "잔액", "points": "{points} 포인트",
        "points_due": "결제 금액 {amount}",
    },
}

CATALOGUES: Final[dict[str, dict[str, dict[str, str]]]] = {
    "clerk": {"ja": _CLERK_JA, "en": _CLERK_EN},
    "customer": _CUSTOMER,
}


class Ref(str):
    """A value that is itself a catalogue key, translated along with the message."""


def tr(scope: str, lang: str, key: str, **values: Any) -> str:
    """The text of ``key`` in ``lang`` (the scope's first language if ``lang`` lacks it)."""
    languages = CATALOGUES[scope]
    table = languages.get(lang) or next(iter(languages.values()))
    text = table[key]
    if not values:
        return text
    shown = {k: tr(scope, lang, v) if isinstance(v, Ref) else v for k, v in values.items()}
    return text.format(**shown)
