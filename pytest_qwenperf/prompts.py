"""The built-in prompt set and prompt files.

Real text-to-image traffic mixes languages, subjects and lengths; prompt length changes the
service's text-encoding work and, with ``prompt_extend``, the rewrite time. The default set is
half Chinese, half English, from a few words to a long art-directed paragraph.
"""

from __future__ import annotations

from pathlib import Path

from pytest_qwenperf.errors import ConfigError

BUILTIN_PROMPTS: tuple[str, ...] = (
    "一只坐在窗台上的橘猫，午后阳光，胶片质感",
    "A red bicycle leaning against a brick wall, morning light",
    "水墨风格的江南水乡，小桥流水人家，远处有薄雾笼罩的青山",
    "Product photo of a ceramic coffee mug on a marble counter, soft studio lighting, 85mm",
    "赛博朋克风格的上海外滩夜景，霓虹灯倒映在雨后的街道上，无人机视角，电影级光影",
    "A watercolor map of an imaginary island with mountains, rivers and a lighthouse",
    "儿童绘本插画：一只小狐狸和一只刺猬在森林里分享一篮子蘑菇，温暖的色调，柔和的线条",
    "Minimalist poster with the words 'OPEN SOURCE SUMMIT 2026' in bold sans-serif type",
    "春节海报，红色背景，金色的“福”字居中，周围有烟花和灯笼，喜庆热闹",
    "An astronaut tending a small vegetable garden inside a glass dome on Mars, photorealistic",
    "极简主义室内设计，北欧风格客厅，浅色木地板，大落地窗，一盆琴叶榕",
    "Isometric illustration of a busy train station at rush hour, dozens of tiny travellers, "
    "pastel palette, clean vector style, high detail, no text",
    "一位穿着汉服的女孩站在樱花树下，微风吹起花瓣，浅景深，人像摄影，自然光，"
    "背景是古色古香的亭台楼阁，画面柔和唯美，细节丰富",
    "Close-up macro shot of morning dew on a spider web, bokeh background",
    "科技公司发布会的主视觉海报，标题文字为“通义千问”，深蓝色渐变背景，未来感几何图形",
    "A cozy bookshop cafe on a rainy evening, warm lamps, people reading, oil painting style, "
    "visible brush strokes, rich browns and ambers, a cat asleep on a stack of old atlases by "
    "the window while rain streaks the glass and the street outside glows with reflections",
)


def load_prompt_file(path: Path, *, source: str) -> tuple[str, ...]:
    """Read a prompts file: UTF-8, one prompt per line, blank lines ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: prompts file {str(path)!r} does not exist; give a UTF-8 text file with "
            "one prompt per line"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{source}: prompts file {str(path)!r} is a directory; give a UTF-8 text file with "
            "one prompt per line"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{source}: prompts file {str(path)!r} cannot be read ({exc.strerror or exc})"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source}: prompts file {str(path)!r} is not UTF-8 text (byte {exc.start}); save it "
            "as UTF-8 with one prompt per line"
        ) from None
    prompts = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not prompts:
        raise ConfigError(
            f"{source}: prompts file {str(path)!r} is empty; put one prompt per line in it"
        )
    return prompts
