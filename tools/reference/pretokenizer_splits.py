import json, regex, sys
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
GPT2 = r"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
texts = [
    "Hello world! It's 2024, and I'VE got 1234567 apples.\n\nNew   paragraph\twith\ttabs  \n",
    "Ünïcödé façade — naïve café; 日本語のテキスト、中文字符。 Привет, мир! 123abc456",
    "  leading spaces, trailing spaces   \r\n\r\nWindows lines; don't WON'T y'all'd",
    "x=1+2*3.14159; if (a<b) { return a->b; } // ok?!",
    "emoji 😀👍🏽 and symbols ©®™ and numbers 1,000,000.50 and 3rd 22nd",
    "<|im_start|>user\nHi there<|im_end|>\n",
]
def digits_then_gpt2(t):
    out = []
    for piece in regex.split(r"(\p{N})", t):
        if piece:
            out.extend(regex.findall(GPT2, piece))
    return out
fix = []
for t in texts:
    fix.append({"text": t, "llama3": regex.findall(LLAMA3, t), "qwen2": regex.findall(QWEN2, t),
                "gpt2": regex.findall(GPT2, t), "digits_gpt2": digits_then_gpt2(t)})
json.dump({"generator": "python regex " + regex.__version__, "cases": fix}, open(sys.argv[1], "w"), ensure_ascii=False, indent=1)
print("ok", len(fix))
